// The model panel: a modal dialog with its own URL hash (Back and Esc close it), version tabs, trained words,
// files with a Download button naming the target folder, the sanitised description, gallery and licence.
import { api } from "../api.js";
import { h, append, clear, formatBytes, formatDate, oneLine, baseName } from "../dom.js";
import { thumbBox } from "../media.js";
import { draggableResource } from "../send.js";

const PARAM_NAMES = [["steps", "Steps"], ["sampler", "Sampler"], ["cfgScale", "CFG scale"], ["seed", "Seed"],
  ["Size", "Size"], ["clipSkip", "Clip skip"], ["Model", "Model"]];

/** A1111-style infotext: what "read generation parameters" understands and people paste around. */
export function infotext(meta) {
  const lines = [String(meta.prompt || "")];
  if (meta.negativePrompt) lines.push(`Negative prompt: ${meta.negativePrompt}`);
  const parts = PARAM_NAMES.filter(([key]) => meta[key] !== undefined && meta[key] !== null && meta[key] !== "")
    .map(([key, label]) => `${label}: ${meta[key]}`);
  if (parts.length) lines.push(parts.join(", "));
  return lines.join("\n");
}

function versionsOf(model) {
  return model.versions || model.modelVersions || [];
}

export class ModelView {
  constructor(app) {
    this.app = app;
    this.modelId = null;
    this.data = null;
    this.title = h("h2", { id: "model-title" });
    this.subtitle = h("div", { class: "small muted" });
    this.civitaiLink = h("a", { target: "_blank", rel: "noopener noreferrer", text: "Open on Civitai", class: "small" });
    this.closeButton = h("button", { type: "button", text: "✕", title: "Close (Esc)", "aria-label": "Close", on: { click: () => app.closeModel() } });
    this.content = h("div", { class: "content" });
    this.el = h("dialog", { class: "model", "aria-labelledby": "model-title", "data-view": "model" },
      h("div", { class: "head" }, h("div", { class: "grow" }, this.title, this.subtitle, this.civitaiLink), this.closeButton),
      this.content);
    this.el.addEventListener("cancel", (event) => {  // Esc
      event.preventDefault();
      app.closeModel();
    });
  }

  async open(modelId, versionId) {
    if (!this.el.open) {
      if (!this.el.isConnected) return;
      this.returnFocus = this.app.shadowRoot.activeElement;
      this.el.showModal();
    }
    if (this.modelId === modelId && this.data) {
      if (versionId) this.selectVersion(versionId);
      return;
    }
    this.modelId = modelId;
    this.data = null;
    this.title.textContent = "Loading…";
    this.subtitle.textContent = "";
    this.civitaiLink.href = `${this.app.siteUrl()}/models/${modelId}`;
    clear(this.content);
    this.closeButton.focus();
    let model;
    try {
      await this.app.loadSettings().catch(() => {});
      model = await api(`models/${modelId}`);
    } catch (error) {
      if (this.modelId !== modelId) return;
      this.title.textContent = `Model ${modelId}`;
      this.content.append(h("div", { class: "state error", "data-state": "error", text: oneLine(error) }),
        h("div", { class: "row" }, h("button", { type: "button", text: "Retry", on: { click: () => { this.modelId = null; this.open(modelId, versionId); } } })));
      return;
    }
    if (this.modelId !== modelId) return;
    this.data = model;
    this.render(versionId);
  }

  close() {
    if (this.el.open) this.el.close();
    this.modelId = null;
    this.data = null;
    if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
    this.returnFocus = null;
  }

  render(versionId) {
    const model = this.data;
    const creator = model.creator && (model.creator.username || model.creator);
    this.title.textContent = model.name || `Model ${model.id}`;
    this.subtitle.textContent = [model.type, typeof creator === "string" ? `by ${creator}` : null].filter(Boolean).join(" · ");
    clear(this.content);
    const versions = versionsOf(model);
    this.tabs = h("div", { class: "versions", role: "tablist", "aria-label": "Versions" });
    this.versionPanel = h("div", { role: "tabpanel", class: "version" });
    for (const version of versions) {
      const button = h("button", { type: "button", role: "tab", "data-version-id": version.id, text: version.name || `v${version.id}`,
        on: { click: () => this.selectVersion(version.id) } });
      this.tabs.append(button);
    }
    this.tabs.addEventListener("keydown", (event) => {
      const buttons = [...this.tabs.children];
      const index = buttons.indexOf(this.app.shadowRoot.activeElement);
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step || index < 0) return;
      event.preventDefault();
      const next = buttons[(index + step + buttons.length) % buttons.length];
      next.focus();
      next.click();
    });
    const description = h("div", { class: "description" });
    description.innerHTML = model.description || "<p>No description.</p>";  // sanitised by the server (nh3)
    for (const link of description.querySelectorAll("a")) { link.target = "_blank"; link.rel = "noopener noreferrer"; }
    append(this.content, [versions.length > 1 ? this.tabs : null, this.versionPanel,
      h("section", {}, h("h3", { text: "About" }), description), this.licence(model)]);
    this.selectVersion(versionId || (versions[0] && versions[0].id));
  }

  selectVersion(versionId) {
    const versions = versionsOf(this.data);
    const version = versions.find((v) => v.id === versionId) || versions[0];
    if (!version) {
      clear(this.versionPanel).append(h("div", { class: "state", text: "This model has no published version." }));
      return;
    }
    for (const button of this.tabs.children) {
      const active = Number(button.dataset.versionId) === version.id;
      button.setAttribute("aria-selected", String(active));
      button.tabIndex = active ? 0 : -1;
    }
    this.version = version;
    this.civitaiLink.href = version.url || `${this.app.siteUrl()}/models/${this.data.id}?modelVersionId=${version.id}`;
    append(clear(this.versionPanel), [this.versionInfo(version), this.useInGraph(version), this.words(version), this.files(version), this.gallery(version)]);
  }

  ref(version, file) {
    return { modelId: this.data.id, versionId: version.id, air: version.air, type: this.data.type, fileName: file && file.name };
  }

  versionInfo(version) {
    const badges = h("div", { class: "badges" });
    if (version.earlyAccess) badges.append(h("span", { class: "badge warn", text: "early access" }));
    if (version.loginRequired) badges.append(h("span", { class: "badge warn", text: "login required" }));
    const installed = Array.isArray(version.installed) ? version.installed : [];
    for (const path of installed) badges.append(h("span", { class: "badge ok", text: `installed: ${baseName(path)}`, title: path }));
    return h("div", { class: "row small" },
      h("span", { text: version.baseModel || "unknown base model" }),
      h("span", { class: "muted", text: formatDate(version.publishedAt || version.createdAt) }), badges);
  }

  /** ComfyUI only: a loader node for this version, its reference kept in the workflow as an AIR. */
  useInGraph(version) {
    if (this.app.hostName !== "comfyui" || version.id == null) return null;
    const air = version.air || `civitai:${this.data.id}@${version.id}`;
    const button = h("button", { type: "button", "data-add-node": "", text: "Add to workflow",
      title: "Add a loader node for this version (or drag this button onto the graph); ComfyUI downloads it on the server when the graph runs",
      on: { click: () => this.app.send({ text: air, kind: "resource", ref: { ...this.ref(version), air } }) } });
    draggableResource(button, { ...this.ref(version), air });
    return h("div", { class: "row" }, button);
  }

  words(version) {
    const words = (version.trainedWords || []).filter((w) => typeof w === "string" && w.trim());
    if (!words.length) return null;
    const chips = h("div", { class: "chips", "data-words": "" });
    for (const word of words) {
      chips.append(h("button", { type: "button", class: "chip", text: word, title: "Send this word to the prompt",
        on: { click: () => this.app.send({ text: word, kind: "prompt", ref: this.ref(version) }) } }));
    }
    chips.append(h("button", { type: "button", text: "Send all", "data-send-all": "",
      on: { click: () => this.app.send({ text: words.join(", "), kind: "prompt", ref: this.ref(version) }) } }));
    return h("section", {}, h("h3", { text: "Trained words" }), chips);
  }

  files(version) {
    const files = version.files || [];
    const body = h("tbody");
    for (const file of files) {
      const meta = file.metadata || {};
      const folder = file.folder || "";
      const scan = [file.pickleScanResult, file.virusScanResult].filter(Boolean);
      const scanText = scan.length ? (scan.every((s) => s === "Success") ? "clean" : scan.join(" / ")) : "–";
      const button = h("button", { type: "button", class: "primary", "data-file-id": file.id,
        text: file.installed ? "Downloaded" : folder ? `Download to ${baseName(folder)}` : "Download",
        title: file.installed ? file.installed : folder ? `Saves into ${folder}` : "", "data-folder": folder,
        on: { click: () => this.download(version, file, button) } });
      body.append(h("tr", {},
        h("td", {}, h("div", { text: file.name, style: { overflowWrap: "anywhere" } }), h("div", { class: "small muted", text: file.type || "" })),
        h("td", { text: meta.format || file.format || "–" }),
        h("td", { text: meta.fp || file.fp || "–" }),
        h("td", { text: formatBytes((file.sizeKB || 0) * 1024) }),
        h("td", { class: scanText === "clean" ? "" : "error", text: scanText }),
        h("td", {}, button)));
    }
    if (!files.length) body.append(h("tr", {}, h("td", { colSpan: 6, class: "muted", text: "No files in this version." })));
    return h("section", { class: "files" }, h("h3", { text: "Files" }),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["File", "Format", "fp", "Size", "Scan", ""].map((t) => h("th", { text: t })))), body)));
  }

  async download(version, file, button) {
    button.disabled = true;
    try {
      await api("downloads", { method: "POST", body: { versionId: version.id, fileId: file.id } });
      button.textContent = "Queued — see Downloads";
      this.app.pollSoon();
    } catch (error) {
      button.disabled = false;
      this.app.toast(oneLine(error));
      button.title = oneLine(error);
    }
  }

  gallery(version) {
    const section = h("section", {}, h("h3", { text: "Gallery" }));
    const grid = h("div", { class: "gallery" });
    const more = h("button", { type: "button", text: "More pictures", "data-more-images": "", hidden: true });
    section.append(grid, h("div", { class: "row", style: { marginTop: "8px" } }, more));
    const images = version.images || [];
    const shown = new Set();
    const add = (list) => {
      const fresh = list.filter((i) => i.url && !shown.has(i.url));
      for (const i of fresh) shown.add(i.url);
      this.addShots(grid, version, fresh);
    };
    add(images);
    // The version lists a few pictures, without their parameters; the images endpoint pages through all.
    let cursor = null;
    let first = true;
    const load = () => {
      more.disabled = true;
      const query = [["modelVersionId", version.id], ["nsfw", this.app.settings?.nsfw_level]];
      if (cursor) query.push(["cursor", cursor]);
      api("images", { query }).then((page) => {
        if (!this.version || this.version.id !== version.id) return;
        const items = (page && page.items) || [];
        if (first && items.length) { clear(grid); shown.clear(); }  // the same pictures, with parameters
        add(first && !items.length ? images : items);
        first = false;
        cursor = (page && page.nextCursor) || null;
        more.hidden = !cursor;
        more.disabled = false;
        if (!shown.size) grid.append(h("div", { class: "muted", text: "No pictures." }));
      }, (error) => {
        more.disabled = false;
        more.hidden = !first && !cursor;
        // The version's own pictures stand when only their parameters could not be fetched.
        if (!first || !shown.size) grid.append(h("div", { class: "error", text: oneLine(error) }));
      });
    };
    more.addEventListener("click", load);
    if (!images.length || images.some((i) => !i.meta)) load();
    else more.hidden = false;  // all shown have parameters: the rest comes when asked for
    return section;
  }

  addShots(grid, version, images) {
    for (const image of images) {
      const meta = image.meta || null;
      const params = h("div", { class: "params" });
      if (meta && meta.prompt) {
        params.append(h("div", { class: "prompt", text: meta.prompt }));
        if (meta.negativePrompt) params.append(h("div", { class: "prompt muted", text: `Negative: ${meta.negativePrompt}` }));
        const details = PARAM_NAMES.filter(([k]) => meta[k] !== undefined && meta[k] !== null).map(([k, label]) => `${label}: ${meta[k]}`);
        if (details.length) params.append(h("div", { class: "muted", text: details.join(", ") }));
        params.append(h("div", { class: "row" },
          h("button", { type: "button", text: "Send prompt", "data-send": "prompt",
            on: { click: () => this.app.send({ text: meta.prompt, kind: "prompt", ref: this.ref(version) }) } }),
          h("button", { type: "button", text: "Send parameters", "data-send": "parameters",
            on: { click: () => this.app.send({ text: image.parameters || infotext(meta), kind: "parameters", ref: this.ref(version) }) } })));
      } else {
        params.append(h("div", { class: "muted", text: "No generation parameters." }));
      }
      grid.append(h("figure", { class: "shot", style: { margin: 0 } },
        thumbBox({ url: image.url, nsfwLevel: image.nsfwLevel, blur: image.blur, app: this.app, width: 320, video: image.type === "video", alt: meta && meta.prompt ? meta.prompt.slice(0, 80) : "" }),
        params));
    }
  }

  licence(model) {
    model = model.permissions || model;
    const uses = Array.isArray(model.allowCommercialUse) ? model.allowCommercialUse : [model.allowCommercialUse].filter(Boolean);
    const item = (ok, text) => h("li", { class: ok ? "" : "muted", text: `${ok ? "✓" : "✗"} ${text}` });
    return h("section", {}, h("h3", { text: "Licence" }), h("ul", { class: "licence small" },
      item(model.allowNoCredit !== false, "use without crediting the creator"),
      item(uses.includes("Image"), "sell generated images"),
      item(uses.includes("RentCivit") || uses.includes("Rent"), "run on generation services"),
      item(uses.includes("Sell"), "sell this model or merges"),
      item(model.allowDerivatives !== false, "share merges"),
      item(model.allowDifferentLicense !== false, "share merges under other permissions")));
  }

  jobsChanged(jobs) {
    if (!this.el.open || !this.version) return;
    for (const job of jobs.downloads) {
      if (job.versionId !== this.version.id) continue;
      const button = this.versionPanel.querySelector(`button[data-file-id="${Number(job.fileId)}"]`);
      if (!button || !job.fileId) continue;
      if (job.state === "done") { button.textContent = "Downloaded"; button.disabled = true; button.title = job.path || ""; }
      else if (job.state === "failed") { button.textContent = "Failed — retry in Downloads"; button.disabled = false; }
    }
  }
}
