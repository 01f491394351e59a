// Settings: one source of truth on the server. The token is write-only: the page only learns whether one is
// set and where it comes from; "Verify" asks the server whose key it is.
import { api } from "../api.js";
import { h, clear, oneLine } from "../dom.js";
import { NSFW_LEVELS } from "./search.js";

const SITES = [["", "Default"], ["https://civitai.com", "civitai.com"], ["https://civitai.red", "civitai.red"], ["custom", "Custom address…"]];
const SOURCES = { env: "from the CIVITAI_API_TOKEN environment variable", file: "from the token file", settings: "saved here" };

function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { text: label }), control, hint ? h("span", { class: "hint", text: hint }) : null);
}

function levelSelect(name, label) {
  return h("select", { name, "aria-label": label }, NSFW_LEVELS.map(([mask, text]) => h("option", { value: mask, text: `up to ${text}` })));
}

export class SettingsView {
  constructor(app) {
    this.app = app;
    this.tokenState = h("div", { class: "small", "data-token-state": "" });
    this.token = h("input", { type: "password", name: "token", autocomplete: "off", placeholder: "Paste a new API key", "aria-label": "API key" });
    this.whoami = h("div", { class: "small", role: "status", "aria-live": "polite" });
    this.site = h("select", { name: "site", "aria-label": "Civitai site" }, SITES.map(([v, t]) => h("option", { value: v, text: t })));
    this.custom = h("input", { type: "url", name: "base_url", placeholder: "https://…", "aria-label": "Custom address", hidden: true });
    this.site.addEventListener("change", () => { this.custom.hidden = this.site.value !== "custom"; });
    this.nsfw = levelSelect("nsfw_level", "NSFW level for browsing");
    this.previewNsfw = levelSelect("preview_nsfw_level", "NSFW level shown without blur");
    this.template = h("input", { type: "text", name: "subfolder_template", placeholder: "e.g. {baseModel}", "aria-label": "Sub-folder template" });
    this.workers = h("input", { type: "number", name: "download_workers", min: 1, max: 8, step: 1, "aria-label": "Concurrent downloads" });
    this.sidecars = h("input", { type: "checkbox", name: "write_sidecars" });
    this.folders = h("div", { class: "folders" });
    this.message = h("div", { class: "small", role: "status", "aria-live": "polite" });
    this.form = h("form", { class: "settings", on: { submit: (e) => { e.preventDefault(); this.save(); } } },
      h("fieldset", { style: { border: "1px solid var(--cc-border)", borderRadius: "8px", display: "flex", flexDirection: "column", gap: "8px" } },
        h("legend", { text: "Civitai API key" }), this.tokenState,
        h("div", { class: "row" }, this.token, h("button", { type: "button", text: "Save key", on: { click: () => this.saveToken() } }),
          h("button", { type: "button", text: "Verify", "data-verify": "", on: { click: () => this.verify() } }),
          h("button", { type: "button", text: "Remove", on: { click: () => this.saveToken("") } })),
        this.whoami),
      field("Civitai site", h("div", { class: "row" }, this.site, this.custom), "Where models are searched and downloaded from."),
      field("NSFW level for browsing", this.nsfw),
      field("NSFW level shown without blur", this.previewNsfw, "Pictures above this level are blurred until clicked."),
      field("Sub-folder template", this.template, "Placed inside the type's folder, e.g. {baseModel} or {creator}. Empty: no sub-folder."),
      field("Concurrent downloads", this.workers),
      h("label", { class: "row" }, this.sidecars, "Write sidecar files (preview, .civitai.info, <name>.json) next to downloads"),
      this.folders,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: "Save settings" }), this.message));
    this.el = h("section", { "data-view": "settings" }, this.form);
  }

  shown() {
    this.app.loadSettings({ force: true }).then((s) => this.fill(s), (error) => {
      this.message.className = "small error";
      this.message.textContent = oneLine(error);
    });
  }

  fill(s) {
    // An empty base_url means the default: CIVITAI_BASE_URL, else civitai.com (effective_base_url says which).
    const base = (s.base_url || "").replace(/\/+$/, "");
    const effective = (s.effective_base_url || "https://civitai.com").replace(/\/+$/, "");
    this.site.options[0].textContent = `Default (${effective.replace(/^https?:\/\//, "")})`;
    const known = SITES.some(([v]) => v === base);
    this.site.value = known ? base : "custom";
    this.custom.hidden = known;
    this.custom.value = known ? "" : base;
    this.nsfw.value = String(NSFW_LEVELS.filter(([m]) => m <= (Number(s.nsfw_level) || 1)).pop()[0]);
    this.previewNsfw.value = String(NSFW_LEVELS.filter(([m]) => m <= (Number(s.preview_nsfw_level) || 1)).pop()[0]);
    this.template.value = s.subfolder_template || "";
    this.workers.value = String(s.download_workers || 1);
    this.sidecars.checked = s.write_sidecars !== false;
    this.showToken(s.token);
    clear(this.folders);
    const overrides = s.folders || {};
    const kinds = { ...(s.kind_folders || {}) };
    for (const kind of Object.keys(overrides)) if (!(kind in kinds)) kinds[kind] = "";
    if (Object.keys(kinds).length) {
      const list = h("div", { class: "folder-list" });
      for (const [kind, path] of Object.entries(kinds)) {
        list.append(field(kind.replace(/_/g, " "), h("input", { type: "text", "data-folder": kind, value: overrides[kind] || "",
          placeholder: path || "the host's folder", title: path || "", "aria-label": `${kind} folder` })));
      }
      this.folders.append(h("details", {}, h("summary", { text: `Where downloads go (${s.host || "standalone"} layout)` }),
        h("p", { class: "hint", text: "Leave a field empty to use the folder shown in it." }), list));
    }
  }

  showToken(token) {
    const state = token || {};
    this.tokenState.textContent = state.set ? `A key is set (${SOURCES[state.source] || "saved"}).` : "No key set: early-access and login-only files cannot be downloaded.";
    this.tokenState.className = "small " + (state.set ? "" : "muted");
  }

  values() {
    const base = this.site.value === "custom" ? this.custom.value.trim() : this.site.value;
    const out = {
      base_url: base,
      nsfw_level: Number(this.nsfw.value),
      preview_nsfw_level: Number(this.previewNsfw.value),
      subfolder_template: this.template.value.trim(),
      download_workers: Number(this.workers.value) || 1,
      write_sidecars: this.sidecars.checked,
    };
    const folders = {};
    for (const input of this.folders.querySelectorAll("input[data-folder]")) folders[input.dataset.folder] = input.value.trim();
    if (Object.keys(folders).length) out.folders = folders;
    return out;
  }

  async save() {
    this.message.className = "small";
    this.message.textContent = "Saving…";
    try {
      const saved = await api("settings", { method: "PUT", body: this.values() });
      this.app.settings = saved && typeof saved === "object" && !Array.isArray(saved) && "base_url" in saved ? saved : { ...this.app.settings, ...this.values() };
      this.app._settingsReady = Promise.resolve(this.app.settings);
      this.message.textContent = "Saved.";
    } catch (error) {
      this.message.className = "small error";
      this.message.textContent = oneLine(error);
    }
  }

  async saveToken(value) {
    const token = value === undefined ? this.token.value.trim() : value;
    if (value === undefined && !token) { this.whoami.textContent = "Paste a key first."; return; }
    this.whoami.className = "small";
    try {
      await api("settings", { method: "PUT", body: { token } });
      this.token.value = "";  // never kept in the page
      const settings = await this.app.loadSettings({ force: true });
      this.showToken(settings.token);
      this.whoami.textContent = token ? "Key saved." : "Key removed.";
    } catch (error) {
      this.whoami.className = "small error";
      this.whoami.textContent = oneLine(error);
    }
  }

  async verify() {
    this.whoami.className = "small";
    this.whoami.textContent = "Asking Civitai…";
    try {
      const me = await api("me");
      this.whoami.textContent = me && me.username ? `This key belongs to ${me.username}.` : "The key works.";
      this.whoami.dataset.user = (me && me.username) || "";
    } catch (error) {
      this.whoami.className = "small error";
      this.whoami.textContent = oneLine(error);
    }
  }
}
