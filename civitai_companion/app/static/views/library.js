// Library: the local index (no Civitai request), filtered and paged by the server, so 10,000 files render
// as fast as 50. Scan runs as a server job with progress and cancel.
import { api } from "../api.js";
import { h, clear, oneLine, baseName } from "../dom.js";
import { localPreview } from "../media.js";
import { TYPES, baseModels } from "./search.js";

const PAGE = 50;
const ACTIVE = new Set(["queued", "running"]);

function option(value, text) {
  return h("option", { value, text });
}

export class LibraryView {
  constructor(app) {
    this.app = app;
    this.page = 0;
    this.generation = 0;
    this.loaded = false;
    this.text = h("input", { type: "search", placeholder: "Filter by name, file or word", "aria-label": "Filter", class: "grow" });
    this.type = h("select", { "aria-label": "Type" }, option("", "All types"), TYPES.map((t) => option(t, t)));
    this.base = h("select", { "aria-label": "Base model" }, option("", "All base models"));
    this.status = h("select", { "aria-label": "Status" }, option("", "Any status"), option("resolved", "Resolved"),
      option("unknown", "Unknown"), option("update", "Update available"), option("error", "Lookup failed"));
    this.scanButton = h("button", { type: "button", class: "primary", text: "Scan", title: "Find new and changed files",
      on: { click: () => this.scan() } });
    this.scanInfo = h("div", { class: "scan", hidden: true });
    this.summary = h("div", { class: "small muted", role: "status", "aria-live": "polite" });
    this.list = h("div", { class: "lib-list", role: "list", "aria-label": "Library" });
    this.prev = h("button", { type: "button", text: "‹ Previous", on: { click: () => this.go(this.page - 1) } });
    this.next = h("button", { type: "button", text: "Next ›", on: { click: () => this.go(this.page + 1) } });
    this.pageLabel = h("span", { class: "small muted" });
    this.pager = h("div", { class: "pager" }, this.prev, this.pageLabel, this.next);
    let timer = null;
    this.text.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => this.applyFilters(), 120); });
    for (const control of [this.type, this.base, this.status]) control.addEventListener("change", () => this.applyFilters());
    this.el = h("section", { "data-view": "library" },
      h("div", { class: "row", style: { marginBottom: "8px" } }, this.text, this.scanButton),
      h("div", { class: "filters", style: { marginBottom: "8px" } }, this.type, this.base, this.status),
      this.scanInfo, this.summary, this.list, this.pager);
    this.doneJobs = new Set();
  }

  shown() {
    if (!this.loaded) {
      this.loaded = true;
      this.app.loadSettings().catch(() => {}).finally(() => this.go(0));
      baseModels().then((list) => this.fillBases(list), () => {});
    }
  }

  fillBases(list) {
    const current = this.base.value;
    clear(this.base).append(option("", "All base models"), ...list.map((v) => option(v, v)));
    this.base.value = list.includes(current) ? current : "";
  }

  applyFilters() {
    this.go(0);
  }

  /** One page from the server's index (filters applied there): 10,000 files cost what 50 cost. */
  async go(page) {
    const generation = ++this.generation;
    const query = [["offset", Math.max(0, page) * PAGE], ["limit", PAGE], ["types", this.type.value],
      ["baseModels", this.base.value], ["status", this.status.value], ["query", this.text.value.trim()]];
    let answer;
    try {
      answer = await api("library", { query });
    } catch (error) {
      if (generation !== this.generation) return;
      this.loaded = false;
      clear(this.summary).append(h("span", { class: "error", "data-state": "error", text: oneLine(error) }), " ",
        h("button", { type: "button", text: "Retry", on: { click: () => this.shown() } }));
      return;
    }
    if (generation !== this.generation) return;
    const items = (answer && answer.items) || [];
    const total = (answer && answer.total) || 0;
    const pages = Math.max(1, Math.ceil(total / PAGE));
    if (page > 0 && page >= pages) return this.go(pages - 1);
    this.page = page;
    const fragment = document.createDocumentFragment();
    for (const row of items) fragment.append(this.row(row));
    clear(this.list).append(fragment);
    const filtered = this.type.value || this.base.value || this.status.value || this.text.value.trim();
    this.summary.textContent = total === 0
      ? (filtered ? "No files match these filters." : "No model files indexed yet. Press Scan to look through the model folders.")
      : `${total} file${total === 1 ? "" : "s"}${filtered ? " match" : ""}`;
    this.pager.hidden = pages <= 1;
    this.prev.disabled = page === 0;
    this.next.disabled = page >= pages - 1;
    const start = page * PAGE;
    this.pageLabel.textContent = `${start + 1}–${start + items.length} of ${total}`;
    requestAnimationFrame(() => performance.mark("civitai-companion:library-rendered"));
  }

  row(row) {
    const name = row.modelName ? `${row.modelName}${row.versionName ? " · " + row.versionName : ""}` : baseName(row.path);
    const words = (row.trainedWords || []).filter(Boolean);
    const badges = h("div", { class: "badges" },
      h("span", { class: "badge", text: [row.type || row.kind, row.baseModel].filter(Boolean).join(" · ") || "file" }),
      row.status === "resolved" ? h("span", { class: "badge ok", text: "on Civitai" })
        : h("span", { class: "badge", text: row.status || "unknown" }),
      row.newerVersionId ? h("span", { class: "badge warn", text: "update available" }) : null);
    const info = h("div", { class: "info" },
      h("div", { class: "name", text: name }),
      h("div", { class: "path muted", text: this.app.shortPath(row.path), title: row.path }), badges,
      words.length ? h("div", { class: "chips small", "data-words": "" }, words.slice(0, 6).map((w) => h("span", { class: "chip", text: w })),
        words.length > 6 ? h("span", { class: "muted", text: `+${words.length - 6}` }) : null) : null);
    const ref = { modelId: row.modelId, versionId: row.modelVersionId, type: row.type, fileName: baseName(row.path) };
    const actions = h("div", { class: "actions" },
      words.length ? h("button", { type: "button", text: "Send to prompt", "data-send": "prompt",
        on: { click: () => this.app.send({ text: words.join(", "), kind: "prompt", ref }) } }) : null,
      row.modelId ? h("button", { type: "button", text: "Open model", on: { click: () => this.app.openModel(row.modelId, row.modelVersionId) } }) : null,
      row.newerVersionId ? h("button", { type: "button", class: "primary", text: "Download update",
        on: { click: (e) => this.downloadUpdate(row, e.target) } }) : null);
    const preview = row.previewUrl ? localPreview(row.previewUrl, { alt: "" }) : h("div", { class: "noimg" });
    return h("div", { class: "lib-row", role: "listitem", "data-path": row.path }, preview, info, actions);
  }

  async downloadUpdate(row, button) {
    button.disabled = true;
    try {
      await api("downloads", { method: "POST", body: { versionId: row.newerVersionId } });
      button.textContent = "Queued";
      this.app.pollSoon();
    } catch (error) {
      button.disabled = false;
      this.app.toast(oneLine(error));
    }
  }

  async scan() {
    this.scanButton.disabled = true;
    try {
      const job = await api("library/scan", { method: "POST", body: {} });
      this.scanId = job && job.id;
      this.app.pollSoon();
    } catch (error) {
      this.scanButton.disabled = false;
      this.app.toast(oneLine(error));
    }
  }

  jobsChanged(jobs) {
    const scans = jobs.scans || [];
    const running = scans.find((s) => ACTIVE.has(s.state));
    this.scanButton.disabled = Boolean(running);
    clear(this.scanInfo);
    this.scanInfo.hidden = !running;
    if (running) {
      const bar = h("progress", { max: running.total || 1, "aria-label": "scan progress" });
      if (running.total) bar.value = running.done || 0;
      this.scanInfo.append(h("div", { class: "row small" },
        h("span", { text: running.total ? `Scanning: ${running.done || 0} of ${running.total} files` : "Scanning…" }),
        h("span", { class: "grow" }),
        h("button", { type: "button", text: "Cancel scan", on: { click: () => this.cancelScan(running.id) } })), bar);
    }
    // A finished scan or download changes the index: read it again (it is local and quick).
    let changed = false;
    for (const job of [...scans, ...(jobs.downloads || [])]) {
      if (job.state !== "done" || this.doneJobs.has(job.id)) continue;
      this.doneJobs.add(job.id);
      changed = true;
    }
    const failed = scans.find((s) => s.state === "failed" && s.id === this.scanId);
    if (failed) this.app.toast(oneLine(failed.error || "The scan failed."));
    if (changed && this.loaded && this.primed) this.go(this.page);
    this.primed = true;
  }

  async cancelScan(id) {
    try {
      await api(`library/scan/${encodeURIComponent(id)}`, { method: "DELETE" });
    } catch (error) {
      this.app.toast(oneLine(error));
    }
    this.app.pollSoon();
  }
}
