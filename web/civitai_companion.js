// Civitai Companion inside ComfyUI: a "Civitai" sidebar tab that mounts the app, "send" into the graph,
// and trained words shown on Civitai nodes after they run.
//
// This is the only file under WEB_DIRECTORY (ComfyUI imports every .js there as an extension). The app
// itself is loaded from the pack's own static route, built from ComfyUI's base URL so sub-paths and
// proxies work. The token never reaches this page: the app's settings keep it on the server.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const MODULE_PATH = "/civitai-companion/static/companion.js";
const SEND_EVENT = "civitai-companion:send";
const DRAG_TYPE = "application/x-civitai-companion"; // as the app's cards set it
const FILE_ADDED_EVENT = "civitai-companion.file-added";
const WORDS_WIDGET = "trained words";
const LOADER_FOR = { lora: "CivitaiLoraLoader", locon: "CivitaiLoraLoader", dora: "CivitaiLoraLoader",
  checkpoint: "CivitaiCheckpointLoader" };

let element = null; // one app instance, re-appended each time ComfyUI renders the tab
let loading = null;
let lastTextArea = null; // the prompt box the user was last typing in
let added = 0; // nodes added from the app, to place each one apart

function moduleURL() {
  return typeof api.fileURL === "function" ? api.fileURL(MODULE_PATH) : MODULE_PATH;
}

function toast(severity, detail) {
  app.extensionManager?.toast?.add({ severity, summary: "Civitai", detail, life: 3000 });
}

function airOf(ref) {
  if (ref.air) return String(ref.air);
  if (ref.modelId && ref.versionId) return `civitai:${ref.modelId}@${ref.versionId}`;
  return ref.versionId ? String(ref.versionId) : "";
}

function nodeTypeFor(ref) {
  const type = String(ref.type || "").toLowerCase().replace(/[\s_-]+/g, "");
  return LOADER_FOR[type] || "CivitaiDownload";
}

function newNodePosition() {
  // In the middle of what the canvas shows (the sidebar covers its left part), each next one a bit lower.
  const area = app.canvas?.visible_area;
  const [x, y, width, height] = area ? [area[0], area[1], area[2], area[3]] : [];
  const step = 40 * (added++ % 8);
  if ([x, y, width, height].every(Number.isFinite)) return [x + width / 2 - 150 + step, y + height / 3 + step];
  return [100 + step, 100 + step];
}

function addReferenceNode(ref, pos = null) {
  const reference = airOf(ref);
  const type = nodeTypeFor(ref);
  const node = reference && globalThis.LiteGraph?.createNode(type);
  if (!node) return false;
  const widget = node.widgets?.find((w) => w.name === "reference");
  if (widget) widget.value = reference;
  node.pos = pos || newNodePosition();
  app.graph.add(node);
  app.graph.setDirtyCanvas?.(true, true);
  toast("success", `${node.title || type}: ${reference}`);
  return true;
}

// A card or "Add to workflow" dragged from the app onto the graph: a loader node where it was dropped.
// Listening in the capture phase keeps ComfyUI's own drop handler (files, URLs) from seeing our drag.
function onCanvas(event) {
  const canvas = app.canvasEl || app.canvas?.canvas;
  return Boolean(canvas) && (event.target === canvas || canvas.contains?.(event.target));
}

function ours(event) {
  return Array.from(event.dataTransfer?.types || []).includes(DRAG_TYPE) && onCanvas(event);
}

function graphPosition(event) {
  const canvas = app.canvas;
  if (typeof canvas?.convertEventToCanvasOffset === "function") return canvas.convertEventToCanvasOffset(event);
  if (typeof app.clientPosToCanvasPos === "function") return app.clientPosToCanvasPos([event.clientX, event.clientY]);
  return null;
}

function onDragOver(event) {
  if (!ours(event)) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  event.dataTransfer.dropEffect = "copy";
}

function onDrop(event) {
  if (!ours(event)) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  let ref = null;
  try {
    ref = JSON.parse(event.dataTransfer.getData(DRAG_TYPE));
  } catch {
    return;
  }
  const pos = graphPosition(event);
  if (!ref || typeof ref !== "object" || !addReferenceNode(ref, pos && [Number(pos[0]), Number(pos[1])])) {
    toast("warn", "That card has no version to add.");
  }
}

function selectedTextArea() {
  if (lastTextArea?.isConnected) return lastTextArea;
  for (const node of Object.values(app.canvas?.selected_nodes || {})) {
    for (const widget of node.widgets || []) {
      if (widget.inputEl instanceof HTMLTextAreaElement) return widget.inputEl;
    }
  }
  return null;
}

function insertText(text) {
  const box = selectedTextArea();
  if (!box) return false;
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? start;
  const before = box.value.slice(0, start).trimEnd();
  const after = box.value.slice(end).trimStart();
  const lead = before && !before.endsWith(",") ? ", " : before ? " " : "";
  const tail = after && !after.startsWith(",") ? ", " : "";
  box.setRangeText(lead + text + tail, start, end, "end");
  box.dispatchEvent(new Event("input", { bubbles: true })); // ComfyUI's widget takes its value from this
  return true;
}

function onSend(event) {
  const { text, kind, ref } = event.detail || {};
  const done = kind === "resource" && ref ? addReferenceNode(ref) : Boolean(text) && insertText(String(text));
  if (done) event.preventDefault(); // otherwise the app shows the text to copy
  else if (kind !== "resource") toast("info", "Select a text box in the graph first, or copy the text.");
}

function mount(container) {
  if (!element) {
    element = document.createElement("civitai-companion");
    element.setAttribute("host", "comfyui");
    element.addEventListener(SEND_EVENT, onSend);
  }
  container.style.height = "100%";
  container.appendChild(element);
  loading ||= import(moduleURL()).catch((error) => {
    loading = null;
    const note = document.createElement("p");
    note.textContent = `Civitai Companion could not load its app: ${error.message || error}`;
    container.appendChild(note);
  });
}

function showResults(node, message) {
  const words = message?.trained_words?.[0];
  if (typeof words === "string") {
    let widget = node.widgets?.find((w) => w.name === WORDS_WIDGET);
    if (!widget) {
      widget = node.addWidget("text", WORDS_WIDGET, "", () => {}, { serialize: false });
      widget.serialize = false; // shown, never saved into the workflow
    }
    widget.value = words || "(none)";
  }
  const air = message?.air?.[0];
  const reference = node.widgets?.find((w) => w.name === "reference");
  if (air && reference && String(reference.value || "").trim() && reference.value !== air) {
    reference.value = air; // the workflow keeps the reference as an AIR, however it was typed
  }
  node.setDirtyCanvas?.(true, true);
}

app.registerExtension({
  name: "civitai.companion",
  setup() {
    app.extensionManager.registerSidebarTab({
      id: "civitai-companion",
      icon: "pi pi-compass",
      title: "Civitai",
      tooltip: "Civitai Companion: search, download, trained words",
      type: "custom",
      render: mount,
    });
    document.addEventListener("focusin", (event) => {
      if (event.target instanceof HTMLTextAreaElement) lastTextArea = event.target;
    });
    api.addEventListener(FILE_ADDED_EVENT, () => app.refreshComboInNodes?.());
    window.addEventListener("dragover", onDragOver, true);
    window.addEventListener("drop", onDrop, true);
  },
  beforeRegisterNodeDef(nodeType, nodeData) {
    if (!String(nodeData?.name || "").startsWith("Civitai")) return;
    const previous = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      previous?.apply(this, arguments);
      showResults(this, message);
    };
  },
});
