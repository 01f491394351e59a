// <civitai-companion host="standalone|a1111|comfyui">: the one front end every host shows.
// Shadow DOM keeps host CSS out; the host's theme variables still reach in. The element may be removed and
// re-appended (ComfyUI renders its sidebar afresh on every open): it builds once and keeps its state.
import { api } from "./api.js";
import { h } from "./dom.js";
import { CSS } from "./style.js";
import { CopyBox, send } from "./send.js";
import { SearchView } from "./views/search.js";
import { ModelView } from "./views/model.js";
import { DownloadsView } from "./views/downloads.js";
import { LibraryView } from "./views/library.js";
import { SettingsView } from "./views/settings.js";

const MODEL_HASH = /^#civitai-model\/(\d+)(?:\/(\d+))?$/;
/** Sent (bubbling out of the shadow root) when a download or scan has finished. */
export const LIBRARY_EVENT = "civitai-companion:library";
const ACTIVE = new Set(["queued", "running"]);
let sheet = null;  // one stylesheet shared by every instance

class CivitaiCompanion extends HTMLElement {
  constructor() {
    super();
    this.settings = null;
    this.jobs = { downloads: [], scans: [] };
    this._built = false;
    this._pollTimer = null;
    this._pushedModelHash = false;
    this._onHashChange = () => this.syncModelToHash();
    this._settingsReady = null;
  }

  get hostName() {
    return this.getAttribute("host") || "standalone";
  }

  connectedCallback() {
    if (!this._built) this.build();
    this.watchTheme();
    window.addEventListener("hashchange", this._onHashChange);
    this.poll();
    this.syncModelToHash();
  }

  disconnectedCallback() {
    window.removeEventListener("hashchange", this._onHashChange);
    clearTimeout(this._pollTimer);
    this._pollTimer = null;
    if (this._themeObserver) this._themeObserver.disconnect();
  }

  build() {
    this._built = true;
    const root = this.attachShadow({ mode: "open" });
    this.app = h("div", { class: "app", "data-host": this.hostName });
    // A constructed stylesheet, not a <style> element: a host's CSP without 'unsafe-inline' (ComfyUI's
    // default-src 'self') refuses inline styles, not the CSSOM.
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      sheet ||= new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("style", { text: CSS }));
    }
    root.append(this.app);
    this.copyBox = new CopyBox(root);
    this.toastEl = h("div", { class: "toast", popover: "manual", role: "status", "aria-live": "polite" });

    this.views = {
      search: new SearchView(this),
      downloads: new DownloadsView(this),
      library: new LibraryView(this),
      settings: new SettingsView(this),
    };
    this.model = new ModelView(this);
    const labels = { search: "Search", downloads: "Downloads", library: "Library", settings: "Settings" };
    this.tabButtons = {};
    const nav = h("nav", { class: "tabs", role: "tablist", "aria-label": "Civitai Companion" });
    for (const [name, label] of Object.entries(labels)) {
      const button = h("button", {
        type: "button", role: "tab", id: `tab-${name}`, "aria-controls": `view-${name}`, "data-view": name,
        on: { click: () => this.show(name) },
      }, label);
      if (name === "downloads") {
        this.downloadCount = h("span", { class: "count", hidden: true, "aria-label": "active downloads" });
        button.append(this.downloadCount);
      }
      this.tabButtons[name] = button;
      nav.append(button);
    }
    nav.addEventListener("keydown", (event) => this.onTabKey(event));
    this.app.append(nav);
    for (const [name, view] of Object.entries(this.views)) {
      view.el.id = `view-${name}`;
      view.el.setAttribute("role", "tabpanel");
      view.el.setAttribute("aria-labelledby", `tab-${name}`);
      view.el.classList.add("view");
      view.el.hidden = true;
      this.app.append(view.el);
    }
    this.app.append(this.model.el);
    this.show(this.getAttribute("view") || "search");
  }

  onTabKey(event) {
    const names = Object.keys(this.tabButtons);
    const index = names.indexOf(this.current);
    let next = null;
    if (event.key === "ArrowRight") next = names[(index + 1) % names.length];
    else if (event.key === "ArrowLeft") next = names[(index - 1 + names.length) % names.length];
    else if (event.key === "Home") next = names[0];
    else if (event.key === "End") next = names[names.length - 1];
    if (next) {
      event.preventDefault();
      this.show(next);
      this.tabButtons[next].focus();
    }
  }

  /** Show one of the four views (the model panel is separate and has its own URL hash). */
  show(name) {
    if (!this.views[name]) name = "search";
    this.current = name;
    for (const [other, view] of Object.entries(this.views)) {
      const active = other === name;
      view.el.hidden = !active;
      this.tabButtons[other].setAttribute("aria-selected", String(active));
      this.tabButtons[other].tabIndex = active ? 0 : -1;
    }
    this.views[name].shown();
  }

  /** Settings once (other views wait on it for NSFW levels and the site's address). */
  loadSettings({ force = false } = {}) {
    if (!this._settingsReady || force) {
      this._settingsReady = api("settings").then((settings) => {
        this.settings = settings || {};
        return this.settings;
      }, (error) => {
        this._settingsReady = null;
        this.settings = this.settings || {};
        throw error;
      });
    }
    return this._settingsReady;
  }

  siteUrl() {
    const base = (this.settings && (this.settings.effective_base_url || this.settings.base_url)) || "https://civitai.com";
    return base.replace(/\/+$/, "");
  }

  /** A path under the host's models folder, as people say it ("loras/x.safetensors"); the full path goes
   *  in a tooltip. */
  shortPath(path) {
    const root = this.settings && this.settings.models_dir;
    if (!root || !path || !path.startsWith(root)) return path || "";
    return path.slice(root.length).replace(/^[\\/]+/, "") || path;
  }

  send(detail) {
    return send(this, detail);
  }

  /** A short line at the bottom of the screen (over the model panel when that is open). */
  toast(text) {
    const el = this.toastEl;
    const surface = this.shadowRoot.querySelector("dialog[open]") || this.app;
    if (el.parentNode !== surface) {
      if (el.matches(":popover-open")) el.hidePopover();
      surface.append(el);
    }
    el.textContent = text;
    if (!el.matches(":popover-open")) el.showPopover();
    clearTimeout(this._toastTimer);
    this._toastTimer = setTimeout(() => { if (el.matches(":popover-open")) el.hidePopover(); }, 4000);
  }

  // ---- model panel and its URL hash ----------------------------------------------------------------

  openModel(modelId, versionId) {
    const hash = `#civitai-model/${modelId}` + (versionId ? `/${versionId}` : "");
    if (location.hash === hash) return this.syncModelToHash();
    if (!MODEL_HASH.test(location.hash)) this._pushedModelHash = true;
    if (MODEL_HASH.test(location.hash)) history.replaceState(history.state, "", hash);
    else history.pushState(history.state, "", hash);
    this.syncModelToHash();
  }

  closeModel() {
    if (!MODEL_HASH.test(location.hash)) return this.model.close();
    if (this._pushedModelHash) {
      this._pushedModelHash = false;
      history.back();  // the hashchange that follows closes the panel
    } else {
      history.replaceState(history.state, "", location.pathname + location.search);
      this.model.close();
    }
  }

  syncModelToHash() {
    const match = MODEL_HASH.exec(location.hash);
    if (match) this.model.open(Number(match[1]), match[2] ? Number(match[2]) : null);
    else {
      this._pushedModelHash = false;
      this.model.close();
    }
  }

  // ---- jobs -----------------------------------------------------------------------------------------

  /** Light polling of GET jobs: every second while something runs, slower when idle. */
  async poll() {
    clearTimeout(this._pollTimer);
    this._pollTimer = null;
    if (!this.isConnected) return;
    try {
      const jobs = await api("jobs");
      this.jobs = { downloads: (jobs && jobs.downloads) || [], scans: (jobs && jobs.scans) || [] };
      this.jobsError = null;
    } catch (error) {
      this.jobsError = error;
    }
    this.onJobs();
    if (!this.isConnected) return;
    const busy = this.jobs.downloads.some((j) => ACTIVE.has(j.state)) || this.jobs.scans.some((s) => ACTIVE.has(s.state));
    this._pollTimer = setTimeout(() => this.poll(), busy ? 700 : 4000);
  }

  /** Something was queued: look at the jobs now rather than at the next idle tick. */
  pollSoon() {
    clearTimeout(this._pollTimer);
    this._pollTimer = setTimeout(() => this.poll(), 150);
  }

  onJobs() {
    const active = this.jobs.downloads.filter((j) => ACTIVE.has(j.state)).length;
    this.downloadCount.hidden = active === 0;
    this.downloadCount.textContent = String(active);
    for (const view of Object.values(this.views)) if (view.jobsChanged) view.jobsChanged(this.jobs);
    if (this.model.jobsChanged) this.model.jobsChanged(this.jobs);
    // A download or scan finished: the host page may show library state too (the WebUI's cards).
    const finished = new Set([...this.jobs.downloads, ...this.jobs.scans].filter((j) => j.state === "done").map((j) => j.id));
    if (this._finished && [...finished].some((id) => !this._finished.has(id))) {
      this.dispatchEvent(new CustomEvent(LIBRARY_EVENT, { bubbles: true, composed: true }));
    }
    this._finished = finished;
  }

  // ---- theme ----------------------------------------------------------------------------------------

  /** Gradio marks dark mode with `.dark` on <body>, ComfyUI with `.dark-theme`; standalone follows the system. */
  watchTheme() {
    const apply = () => {
      const body = document.body;
      if (!body) return;
      const dark = body.classList.contains("dark") || body.classList.contains("dark-theme") ||
        document.documentElement.classList.contains("dark");
      if (dark) this.dataset.theme = "dark";
      else if (this.hostName !== "standalone") this.dataset.theme = "light";
      else delete this.dataset.theme;
    };
    apply();
    if (!this._themeObserver) this._themeObserver = new MutationObserver(apply);
    const targets = [document.documentElement, document.body].filter(Boolean);
    for (const target of targets) this._themeObserver.observe(target, { attributes: true, attributeFilter: ["class"] });
  }
}

if (!customElements.get("civitai-companion")) customElements.define("civitai-companion", CivitaiCompanion);

export { CivitaiCompanion };
