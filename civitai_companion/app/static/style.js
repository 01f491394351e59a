// The component's own CSS. Colours come from the host's CSS variables (Gradio, ComfyUI/PrimeVue), which pierce
// the shadow root; standalone falls back to light-dark() pairs that follow the system's colour scheme.
export const CSS = `
:host {
  display: block;
  container-type: inline-size;
  color-scheme: light dark;
  --cc-bg: var(--background-fill-primary, var(--comfy-menu-bg, light-dark(#ffffff, #0f141c)));
  --cc-bg2: var(--background-fill-secondary, var(--comfy-menu-secondary-bg, light-dark(#f3f4f6, #1a2130)));
  --cc-fg: var(--body-text-color, var(--fg-color, light-dark(#1f2937, #e5e7eb)));
  --cc-muted: var(--body-text-color-subdued, var(--descrip-text, light-dark(#5b6472, #9ca3af)));
  --cc-border: var(--border-color-primary, var(--border-color, light-dark(#d6dae0, #374151)));
  --cc-accent: var(--color-accent, var(--p-primary-color, light-dark(#2563eb, #60a5fa)));
  /* Filled controls: the host's accent darkened until white reads on it (Gradio's orange is 2.8:1 with
     white, and its --button-primary-text-color belongs to its pale gradient, not to the accent). */
  --cc-accent-fill: color-mix(in srgb, var(--cc-accent) 76%, black);
  --cc-on-accent: #ffffff;
  --cc-accent-soft: var(--color-accent-soft, light-dark(#e8efff, #1e2a44));
  --cc-input: var(--input-background-fill, var(--comfy-input-bg, light-dark(#ffffff, #161c27)));
  --cc-link: var(--link-text-color, var(--p-primary-color, light-dark(#1d4ed8, #93b4ff)));
  --cc-error: var(--error-text, light-dark(#b91c1c, #fca5a5));
  --cc-ok: light-dark(#15803d, #4ade80);
  --cc-warn: light-dark(#b45309, #fbbf24);
  --cc-radius: 8px;
  font-family: var(--font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: 14px;
  line-height: 1.4;
  color: var(--cc-fg);
}
:host([data-theme="dark"]) { color-scheme: dark; }
:host([data-theme="light"]) { color-scheme: light; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.app { background: var(--cc-bg); color: var(--cc-fg); min-height: 100%; }
a { color: var(--cc-link); }
button, input, select, textarea { font: inherit; color: inherit; }
button {
  background: var(--cc-bg2); border: 1px solid var(--cc-border); border-radius: 6px;
  padding: 5px 10px; cursor: pointer; white-space: nowrap;
}
button:hover { border-color: var(--cc-accent); }
button.primary { background: var(--cc-accent-fill); border-color: var(--cc-accent-fill); color: var(--cc-on-accent); }
button:disabled { opacity: .55; cursor: default; }
input, select, textarea {
  background: var(--cc-input); border: 1px solid var(--cc-border); border-radius: 6px; padding: 5px 8px;
  min-width: 0;
}
:focus-visible { outline: 2px solid var(--cc-accent); outline-offset: 1px; }
.muted { color: var(--cc-muted); }
.error { color: var(--cc-error); }
.small { font-size: 12px; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.grow { flex: 1 1 auto; }

nav.tabs {
  display: flex; gap: 2px; border-bottom: 1px solid var(--cc-border); padding: 6px 8px 0; position: sticky;
  top: 0; background: var(--cc-bg); z-index: 3; overflow-x: auto;
}
nav.tabs button {
  border: none; border-bottom: 2px solid transparent; border-radius: 0; background: none; padding: 8px 12px;
  color: var(--cc-muted);
}
nav.tabs button[aria-selected="true"] { color: var(--cc-fg); border-bottom-color: var(--cc-accent); font-weight: 600; }
.count { display: inline-block; min-width: 18px; padding: 0 5px; margin-left: 4px; border-radius: 9px;
  background: var(--cc-accent-fill); color: var(--cc-on-accent); font-size: 11px; text-align: center; }
.view { padding: 10px; }

form.search { display: flex; flex-direction: column; gap: 8px; margin-bottom: 10px; }
.filters { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.filters > * { flex: 0 1 auto; }
.filters input { width: 130px; }
details.multi { position: relative; }
details.multi > summary {
  list-style: none; cursor: pointer; border: 1px solid var(--cc-border); border-radius: 6px; padding: 5px 8px;
  background: var(--cc-input); white-space: nowrap;
}
details.multi > summary::-webkit-details-marker { display: none; }
details.multi > summary::after { content: " ▾"; color: var(--cc-muted); }
details.multi .options {
  position: absolute; z-index: 5; margin-top: 2px; background: var(--cc-bg); border: 1px solid var(--cc-border);
  border-radius: 6px; padding: 6px; max-height: 260px; overflow: auto; min-width: 180px;
  box-shadow: 0 6px 18px rgb(0 0 0 / .18);
}
details.multi label { display: flex; gap: 6px; align-items: center; padding: 2px 4px; white-space: nowrap; }

.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
.card {
  background: var(--cc-bg2); border: 1px solid var(--cc-border); border-radius: var(--cc-radius);
  overflow: hidden; cursor: pointer; display: flex; flex-direction: column; min-width: 0;
}
.card:hover { border-color: var(--cc-accent); }
.thumb { position: relative; aspect-ratio: 3 / 4; background: var(--cc-bg); overflow: hidden; }
.thumb img, .thumb video { width: 100%; height: 100%; object-fit: cover; display: block; transition: filter .15s; }
.thumb.blurred img, .thumb.blurred video { filter: blur(18px) saturate(.6); transform: scale(1.1); }
.reveal {
  position: absolute; inset: auto 6px 6px auto; font-size: 12px; padding: 3px 8px;
  background: rgb(0 0 0 / .65); color: #fff; border-color: transparent;
}
.thumb .none { display: grid; place-items: center; height: 100%; color: var(--cc-muted); font-size: 12px; }
.card .body { padding: 7px 9px 9px; display: flex; flex-direction: column; gap: 3px; }
.card .name { font-weight: 600; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; overflow-wrap: anywhere; }
.badges { display: flex; gap: 4px; flex-wrap: wrap; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 9px; border: 1px solid var(--cc-border); white-space: nowrap; }
.badge.ok { border-color: var(--cc-ok); color: var(--cc-ok); }
.badge.warn { border-color: var(--cc-warn); color: var(--cc-warn); }
.badge.bad { border-color: var(--cc-error); color: var(--cc-error); }
.state { padding: 18px 4px; text-align: center; color: var(--cc-muted); }
.state.error { color: var(--cc-error); }
.more { display: flex; justify-content: center; padding: 12px; }

dialog.model {
  width: min(1000px, calc(100vw - 16px)); max-width: none; height: calc(100vh - 16px); max-height: none;
  padding: 0; border: 1px solid var(--cc-border); border-radius: 10px; background: var(--cc-bg); color: var(--cc-fg);
  container-type: inline-size;
}
dialog.model::backdrop { background: rgb(0 0 0 / .55); }
.model .head { display: flex; gap: 8px; align-items: flex-start; padding: 10px 12px; border-bottom: 1px solid var(--cc-border);
  position: sticky; top: 0; background: var(--cc-bg); z-index: 2; }
.model .head h2 { margin: 0; font-size: 18px; overflow-wrap: anywhere; }
.model .content { padding: 10px 12px 24px; display: flex; flex-direction: column; gap: 14px; }
.model .version { display: flex; flex-direction: column; gap: 14px; }
.model h3 { margin: 0 0 6px; font-size: 14px; }
.versions { display: flex; gap: 4px; flex-wrap: wrap; }
.versions button[aria-selected="true"] { background: var(--cc-accent-fill); border-color: var(--cc-accent-fill); color: var(--cc-on-accent); }
.chips { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.chip { border-radius: 14px; padding: 3px 10px; background: var(--cc-accent-soft); font-family: ui-monospace, monospace;
  font-size: 12px; overflow-wrap: anywhere; white-space: normal; text-align: left; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--cc-border); vertical-align: top; }
th { color: var(--cc-muted); font-weight: 600; }
.description { overflow-wrap: anywhere; max-height: 320px; overflow: auto; border: 1px solid var(--cc-border);
  border-radius: 6px; padding: 0 10px; }
.description img { max-width: 100%; height: auto; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px; }
.shot { border: 1px solid var(--cc-border); border-radius: var(--cc-radius); overflow: hidden; background: var(--cc-bg2); }
.shot .thumb { aspect-ratio: auto; max-height: 300px; }
.shot .thumb img { height: auto; max-height: 300px; object-fit: contain; }
.shot .params { padding: 6px 8px; display: flex; flex-direction: column; gap: 4px; font-size: 12px; }
.shot .prompt { max-height: 5.6em; overflow: auto; overflow-wrap: anywhere; }
.licence { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0; padding: 0; list-style: none; }

.jobs { display: flex; flex-direction: column; gap: 8px; }
.job { border: 1px solid var(--cc-border); border-radius: var(--cc-radius); padding: 8px 10px; background: var(--cc-bg2);
  display: flex; flex-direction: column; gap: 5px; }
.job .title { font-weight: 600; overflow-wrap: anywhere; }
.job progress, .scan progress { width: 100%; height: 8px; accent-color: var(--cc-accent); }
.path { font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }

.lib-list { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(460px, 100%), 1fr)); gap: 6px; }
.lib-row { display: grid; grid-template-columns: 56px 1fr auto; gap: 10px; align-items: center; padding: 6px;
  border: 1px solid var(--cc-border); border-radius: var(--cc-radius); background: var(--cc-bg2); min-width: 0; }
.lib-row .none { width: 56px; height: 72px; font-size: 10px; text-align: center; display: grid; place-items: center; color: var(--cc-muted); background: var(--cc-bg); border-radius: 4px; }
.lib-row img, .lib-row .noimg { width: 56px; height: 72px; object-fit: cover; border-radius: 4px; background: var(--cc-bg); display: block; }
.lib-row .info { min-width: 0; display: flex; flex-direction: column; gap: 3px; }
.lib-row .name { font-weight: 600; overflow-wrap: anywhere; }
.lib-row .actions { display: flex; flex-direction: column; gap: 4px; align-items: stretch; }
.pager { display: flex; gap: 8px; align-items: center; justify-content: center; padding: 10px; }

form.settings { display: flex; flex-direction: column; gap: 12px; max-width: 640px; }
form.settings label.field { display: flex; flex-direction: column; gap: 4px; }
.folder-list { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(280px, 100%), 1fr)); gap: 8px; }
form.settings .hint { font-size: 12px; color: var(--cc-muted); }

.copybox {
  position: fixed; inset: auto 12px 12px auto; margin: 0; width: min(420px, calc(100vw - 24px)); color: var(--cc-fg);
  background: var(--cc-bg); border: 1px solid var(--cc-border); border-radius: 10px; padding: 10px;
  box-shadow: 0 8px 24px rgb(0 0 0 / .25); display: flex; flex-direction: column; gap: 8px;
}
.toast { position: fixed; inset: auto auto 12px 12px; margin: 0; max-width: calc(100vw - 24px); padding: 8px 12px;
  border-radius: 8px; border: 1px solid var(--cc-border); background: var(--cc-bg2); color: var(--cc-fg);
  box-shadow: 0 6px 18px rgb(0 0 0 / .2); }
.copybox:not(:popover-open) { display: none; }
.copybox textarea { width: 100%; min-height: 70px; resize: vertical; font-family: ui-monospace, monospace; font-size: 12px; }

form.search .filters-toggle { display: none; }
@container (max-width: 560px) {
  .files table, .files tbody, .files tr, .files td { display: block; }
  .files thead { display: none; }
  .files tr { padding: 6px 0; border-bottom: 1px solid var(--cc-border); }
  .files td { display: inline-block; border: none; padding: 2px 10px 2px 0; }
  .files td:first-child, .files td:last-child { display: block; }
  .files td:last-child button { width: 100%; white-space: normal; }
}
@container (max-width: 520px) {
  .view { padding: 8px 6px; }
  form.search .filters-toggle { display: inline-block; }
  form.search:not(.open) .filters { display: none; }
  .grid { grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 6px; }
  .filters input { width: 100%; }
  .filters > * { flex: 1 1 120px; }
  nav.tabs button { padding: 8px 8px; }
  .lib-row { grid-template-columns: 44px 1fr; }
  .lib-row .none { width: 56px; height: 72px; font-size: 10px; text-align: center; display: grid; place-items: center; color: var(--cc-muted); background: var(--cc-bg); border-radius: 4px; }
.lib-row img, .lib-row .noimg { width: 44px; height: 56px; }
  .lib-row .actions { grid-column: 1 / -1; flex-direction: row; flex-wrap: wrap; }
  .card .body { padding: 5px 6px 7px; }
}
`;
