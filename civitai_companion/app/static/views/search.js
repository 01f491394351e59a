// Search: the query form, a responsive grid of cards and infinite scroll that follows the cursor through
// short and empty pages.
import { api } from "../api.js";
import { h, clear, formatCount, oneLine, onActivate } from "../dom.js";
import { thumbBox } from "../media.js";
import { draggableResource } from "../send.js";

export const TYPES = ["Checkpoint", "LORA", "LoCon", "DoRA", "TextualInversion", "Hypernetwork", "VAE",
  "Controlnet", "Upscaler", "MotionModule", "TextEncoder", "Detection", "Poses", "Wildcards", "Workflows", "Other"];
const FALLBACK_BASE_MODELS = ["SD 1.5", "SDXL 1.0", "Pony", "Illustrious", "NoobAI", "Flux.1 D", "Flux.1 S", "SD 3.5", "Other"];
const SORTS = ["Highest Rated", "Most Downloaded", "Newest"];
const PERIODS = [["AllTime", "All time"], ["Year", "Year"], ["Month", "Month"], ["Week", "Week"], ["Day", "Day"]];
export const NSFW_LEVELS = [[1, "PG"], [3, "PG-13"], [7, "R"], [15, "X"], [31, "XXX"]];
const ENUMS_KEY = "civitai-companion:enums";
const DAY = 24 * 3600 * 1000;
const MAX_EMPTY_PAGES = 8;

/** Base models from the enums, cached in localStorage for a day. */
export async function baseModels() {
  try {
    const cached = JSON.parse(localStorage.getItem(ENUMS_KEY) || "null");
    if (cached && Date.now() - cached.at < DAY && Array.isArray(cached.baseModels)) return cached.baseModels;
  } catch { /* a broken cache is simply refreshed */ }
  const enums = await api("enums");
  const list = (enums && (enums.BaseModel || enums.baseModels)) || [];
  if (!list.length) return FALLBACK_BASE_MODELS;
  try { localStorage.setItem(ENUMS_KEY, JSON.stringify({ at: Date.now(), baseModels: list })); } catch { /* full */ }
  return list;
}

function multiSelect(label, name, values) {
  const summary = h("summary", { text: label });
  const options = h("div", { class: "options" });
  const el = h("details", { class: "multi", "data-filter": name }, summary, options);
  const update = () => {
    const n = options.querySelectorAll("input:checked").length;
    summary.textContent = n ? `${label} (${n})` : label;
  };
  const fill = (list) => {
    const checked = new Set(selected());
    clear(options);
    for (const value of list) {
      const box = h("input", { type: "checkbox", value, checked: checked.has(value), on: { change: update } });
      options.append(h("label", {}, box, value));
    }
    update();
  };
  const selected = () => [...options.querySelectorAll("input:checked")].map((i) => i.value);
  el.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && el.open) { event.stopPropagation(); el.open = false; summary.focus(); }
  });
  fill(values);
  return { el, fill, selected };
}

function select(label, name, options, value) {
  const el = h("select", { "aria-label": label, name, title: label },
    options.map(([v, text]) => h("option", { value: v, text, selected: String(v) === String(value) })));
  return el;
}

export class SearchView {
  constructor(app) {
    this.app = app;
    this.started = false;
    this.generation = 0;
    this.cursor = null;
    this.loading = false;
    this.controller = null;

    this.query = h("input", { type: "search", name: "query", placeholder: "Search models", "aria-label": "Search models", class: "grow" });
    this.types = multiSelect("Types", "types", TYPES);
    this.bases = multiSelect("Base models", "baseModels", FALLBACK_BASE_MODELS);
    this.sort = select("Sort", "sort", SORTS.map((s) => [s, s]), "Most Downloaded");
    this.period = select("Period", "period", PERIODS, "AllTime");
    this.nsfw = select("NSFW level", "nsfw", NSFW_LEVELS, 1);
    this.tag = h("input", { type: "text", name: "tag", placeholder: "Tag", "aria-label": "Tag" });
    this.creator = h("input", { type: "text", name: "username", placeholder: "Creator", "aria-label": "Creator" });
    this.form = h("form", { class: "search", role: "search", on: { submit: (e) => { e.preventDefault(); this.search(); } } },
      h("div", { class: "row" }, this.query, h("button", { type: "submit", class: "primary", text: "Search" }),
        h("button", { type: "button", class: "filters-toggle", text: "Filters", "aria-expanded": "false",
          on: { click: (e) => e.currentTarget.setAttribute("aria-expanded", String(this.form.classList.toggle("open"))) } })),
      h("div", { class: "filters" }, this.types.el, this.bases.el, this.sort, this.period, this.nsfw, this.tag, this.creator));
    for (const control of [this.sort, this.period, this.nsfw]) control.addEventListener("change", () => this.search());
    this.grid = h("div", { class: "grid", role: "list", "aria-label": "Models" });
    this.status = h("div", { class: "state", role: "status", "aria-live": "polite" });
    this.moreButton = h("button", { type: "button", text: "Load more", hidden: true, on: { click: () => this.loadMore() } });
    this.sentinel = h("div", { class: "more" }, this.moreButton);
    this.el = h("section", { "data-view": "search" }, this.form, this.grid, this.status, this.sentinel);
    this.scrollObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadMore();
    }, { rootMargin: "600px 0px" });
    this.scrollObserver.observe(this.sentinel);
  }

  shown() {
    if (this.started || this.waiting) return;
    // A host may keep the app in a hidden tab (A1111 builds every tab at page load): ask Civitai only
    // once the view has a size, i.e. when someone looks at it.
    this.waiting = new ResizeObserver((entries) => {
      if (!entries.some((e) => e.contentRect.width > 0)) return;
      this.waiting.disconnect();
      this.waiting = null;
      this.start();
    });
    this.waiting.observe(this.el);
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.app.loadSettings().then((settings) => {
      const level = Number(settings.nsfw_level) || 1;
      const best = NSFW_LEVELS.filter(([mask]) => mask <= level).pop() || NSFW_LEVELS[0];
      this.nsfw.value = String(best[0]);
    }, () => {}).finally(() => this.search());
    baseModels().then((list) => this.bases.fill(list), () => {});
  }

  params(cursor) {
    const query = [["query", this.query.value.trim()]];
    for (const t of this.types.selected()) query.push(["types", t]);
    for (const b of this.bases.selected()) query.push(["baseModels", b]);
    query.push(["sort", this.sort.value], ["period", this.period.value], ["nsfw", this.nsfw.value],
      ["tag", this.tag.value.trim()], ["username", this.creator.value.trim()]);
    if (cursor) query.push(["cursor", cursor]);
    const size = Number(this.app.getAttribute("page-size"));  // cards per page (default: the server's)
    if (size > 0) query.push(["limit", size]);
    return query;
  }

  /** A fresh search: drops the grid and any answer still on its way. */
  search() {
    this.types.el.open = false;
    this.bases.el.open = false;
    this.generation += 1;
    if (this.controller) this.controller.abort();
    this.cursor = null;
    this.done = false;
    this.emptyPages = 0;
    this.count = 0;
    clear(this.grid);
    performance.mark("civitai-companion:search");
    return this.fetchPage();
  }

  loadMore() {
    // After an error only the Retry button asks again: scrolling must not hammer a failing Civitai.
    // generation 0: the first search has not begun (settings still loading), nothing to continue yet.
    if (this.loading || this.done || this.failed || this.generation === 0 || this.el.hidden) return;
    return this.fetchPage();
  }

  async fetchPage() {
    const generation = this.generation;
    this.loading = true;
    this.failed = false;
    this.controller = new AbortController();
    this.moreButton.hidden = true;
    this.setStatus(this.count ? "Loading more…" : "Searching…");
    let page;
    try {
      page = await api("search", { query: this.params(this.cursor), signal: this.controller.signal });
    } catch (error) {
      if (generation !== this.generation) return;
      this.loading = false;
      if (error.name === "AbortError") return;
      this.failed = true;
      this.setStatus(oneLine(error), { error: true, retry: true });
      return;
    }
    if (generation !== this.generation) return;
    this.loading = false;
    const items = (page && page.items) || [];
    this.cursor = (page && page.nextCursor) || null;
    this.done = !this.cursor;
    this.emptyPages = items.length ? 0 : this.emptyPages + 1;
    this.addCards(items);
    if (this.count === 0 && this.done) {
      this.setStatus("No models match this search. Try fewer filters or another word.");
      return;
    }
    if (this.done) {
      this.setStatus(`${this.count} model${this.count === 1 ? "" : "s"}, that is all.`);
      return;
    }
    this.setStatus("");
    if (this.emptyPages >= MAX_EMPTY_PAGES) {
      this.setStatus("Civitai keeps sending empty pages for this search.");
      this.moreButton.hidden = false;
      return;
    }
    this.moreButton.hidden = false;
    // The sentinel may still be on screen after a short page: IntersectionObserver will not fire again.
    requestAnimationFrame(() => {
      if (generation === this.generation && this.sentinelNear()) this.loadMore();
    });
  }

  sentinelNear() {
    if (this.el.hidden || !this.sentinel.isConnected) return false;
    const rect = this.sentinel.getBoundingClientRect();
    return rect.height > 0 && rect.top < window.innerHeight + 600;
  }

  setStatus(text, { error = false, retry = false } = {}) {
    clear(this.status);
    this.status.classList.toggle("error", error);
    this.status.hidden = !text;
    if (!text) return;
    this.status.append(h("span", { "data-state": error ? "error" : "info", text }));
    if (retry) {
      this.status.append(" ", h("button", { type: "button", text: "Retry", on: { click: () => this.count ? this.fetchPage() : this.search() } }));
    }
  }

  addCards(items) {
    const fragment = document.createDocumentFragment();
    const first = this.count === 0 && items.length > 0;
    for (const card of items) fragment.append(this.card(card));
    this.grid.append(fragment);
    this.count += items.length;
    if (first) {
      requestAnimationFrame(() => performance.mark("civitai-companion:first-card"));
    }
  }

  card(card) {
    const installed = Array.isArray(card.installed) ? card.installed : [];
    const stats = card.stats || {};
    const creator = typeof card.creator === "string" ? card.creator : card.creator && card.creator.username;
    const level = card.thumbnailNsfwLevel ?? card.nsfwLevel;
    const el = h("article", { class: "card", role: "listitem", tabindex: 0, "aria-label": card.name, "data-model-id": card.id },
      thumbBox({ url: card.thumbnail, nsfwLevel: level, blur: card.blur, app: this.app, width: 240, alt: "", video: card.thumbnailType === "video" }),
      h("div", { class: "body" },
        h("div", { class: "name", text: card.name || `Model ${card.id}`, title: card.name }),
        h("div", { class: "small muted", text: [card.type, card.baseModel].filter(Boolean).join(" · ") }),
        h("div", { class: "small muted", text: `↓ ${formatCount(stats.downloads)}  ♥ ${formatCount(stats.likes)}` +
          (creator ? `  · ${creator}` : "") }),
        h("div", { class: "badges" },
          installed.length ? h("span", { class: "badge ok", "data-badge": "installed", text: "installed" }) : null,
          card.update ? h("span", { class: "badge warn", "data-badge": "update", text: "update available" }) : null)));
    onActivate(el, () => this.app.openModel(card.id));
    const latest = Array.isArray(card.versions) && card.versions[0];
    if (this.app.hostName === "comfyui" && latest && latest.id != null) {
      draggableResource(el, { modelId: card.id, versionId: latest.id, type: card.type });
      el.title = `${card.name || ""} (drag onto the graph for a loader node of ${latest.name || "the latest version"})`;
    }
    return el;
  }
}
