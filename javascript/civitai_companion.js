// Civitai Companion inside AUTOMATIC1111 / Forge: loads the app's web component into the "Civitai" tab,
// puts what the app sends into the WebUI's prompt boxes, and adds a small control to Extra Networks cards.
// A classic script in <head>: it runs before Gradio has built the page, so it waits for elements itself.
// Anything the WebUI's DOM does not have is skipped without an error.
(function () {
    "use strict";
    var PREFIX = "civitai-companion/";
    var CARD_PAGES = ["lora", "checkpoints", "textual_inversion", "hypernetworks"];

    function root() {
        return typeof gradioApp === "function" ? gradioApp() : document;
    }

    function base() {
        // A WebUI under --subpath or behind a proxy: everything relative to the page, never to "/".
        return new URL(PREFIX, document.baseURI);
    }

    // -- the tab: import the module once the mount point is in the page ---------------------------
    var loading = null;

    function loadApp(mount) {
        if (loading || customElements.get("civitai-companion")) return;
        var version = mount.getAttribute("data-version") || "";
        var url = new URL("static/companion.js" + (version ? "?v=" + encodeURIComponent(version) : ""), base());
        loading = import(url.href).catch(function (err) {
            loading = null;
            status("The Civitai app could not be loaded: " + err);
        });
    }

    // -- sending text to the prompt ------------------------------------------------------------------
    function target() {
        var choice = root().querySelector("select[name='civitai-companion-target']");
        return choice && choice.value === "img2img" ? "img2img" : "txt2img";
    }

    function status(text) {
        var el = root().querySelector(".civitai-companion-status");
        if (el) el.textContent = text;
    }

    function parts(text) {
        return String(text || "").split(",").map(function (p) { return p.trim(); }).filter(Boolean);
    }

    // Append only the comma-separated parts the prompt does not have yet (case and spaces ignored).
    function appendUnique(current, text) {
        var have = {};
        parts(current).forEach(function (p) { have[p.toLowerCase()] = true; });
        var added = parts(text).filter(function (p) {
            var key = p.toLowerCase();
            if (have[key]) return false;
            have[key] = true;
            return true;
        });
        if (!added.length) return current;
        var head = String(current || "").replace(/[\s,]+$/, "");
        return (head ? head + ", " : "") + added.join(", ");
    }

    function setBox(id, value) {
        var box = root().querySelector("#" + id + " textarea");
        if (!box) return false;
        box.value = value;
        if (typeof updateInput === "function") updateInput(box);
        else box.dispatchEvent(new Event("input", {bubbles: true}));
        return true;
    }

    function addToPrompt(tab, text, negative) {
        var id = tab + (negative ? "_neg_prompt" : "_prompt");
        var box = root().querySelector("#" + id + " textarea");
        if (!box) return false;
        return setBox(id, appendUnique(box.value, text));
    }

    function pasteParameters(tab, text) {
        var paste = root().querySelector("#" + tab + "_tools #paste") || root().querySelector("#paste");
        if (!setBox(tab + "_prompt", text) || !paste) return false;
        paste.click();  // A1111's own "read generation parameters from prompt" button
        return true;
    }

    // Go to txt2img / img2img as the WebUI's own "Send to" buttons do (its switch_to_* helpers).
    function showTab(tab) {
        var helper = window["switch_to_" + tab];
        if (typeof helper === "function") return helper();
        var buttons = root().querySelectorAll("#tabs button");
        for (var i = 0; i < buttons.length; i++) {
            if (buttons[i].textContent.trim().toLowerCase() === tab) return buttons[i].click();
        }
    }

    function onSend(event) {
        var detail = event.detail || {};
        if (!detail.text) return;
        var tab = target();
        var parameters = detail.kind === "parameters";
        var done = parameters ? pasteParameters(tab, detail.text)
            : addToPrompt(tab, detail.text, detail.kind === "negative");
        if (!done) return;
        event.preventDefault();
        status(parameters ? "Parameters sent to " + tab
            : "Added to the " + tab + (detail.kind === "negative" ? " negative prompt" : " prompt"));
        if (parameters) {
            // The whole set of fields changed: show them, as the WebUI's PNG Info does.
            var app = event.target;
            if (app && typeof app.closeModel === "function") app.closeModel();
            showTab(tab);
        }
    }

    document.addEventListener("civitai-companion:send", onSend);

    // -- Extra Networks cards ------------------------------------------------------------------------
    var library = null;

    function normPath(p) {
        return String(p || "").replace(/\\/g, "/").toLowerCase();
    }

    var PAGE = 5000;  // the library route's largest page; a big library takes a few requests

    function libraryPage(offset, byPath) {
        var url = new URL("api/library", base());
        url.searchParams.set("status", "resolved");
        url.searchParams.set("limit", String(PAGE));
        url.searchParams.set("offset", String(offset));
        return fetch(url.href, {credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.json() : {}; })
            .then(function (body) {
                var rows = (body && body.items) || [];
                rows.forEach(function (row) { if (row && row.path) byPath[normPath(row.path)] = row; });
                var next = offset + rows.length;
                return rows.length && next < (body.total || 0) ? libraryPage(next, byPath) : byPath;
            });
    }

    function loadLibrary() {
        if (library) return library;
        var byPath = {};
        var loaded = library = libraryPage(0, byPath).catch(function () { return byPath; });
        // The app says when its downloads and scans finish; this catches what others changed (the CLI).
        setTimeout(function () { if (library === loaded) library = null; }, 60000);
        return library;
    }

    var stale = false;  // controls already on cards were made from an older library

    document.addEventListener("civitai-companion:library", function () {
        library = null;
        stale = true;
        schedule();
    });

    function words(row) {
        var list = row && Array.isArray(row.trainedWords) ? row.trainedWords : [];
        return list.join(", ");
    }

    function openInTab(row) {
        var button = root().querySelector("#tab_civitai_companion-button");  // Gradio 4 (Forge)
        var tabs = button ? [button] : root().querySelectorAll("#tabs button");
        for (var i = 0; i < tabs.length; i++) {
            if (tabs[i].textContent.trim() === "Civitai") { tabs[i].click(); break; }
        }
        var app = root().querySelector("civitai-companion");
        if (app && typeof app.openModel === "function") app.openModel(row.modelId, row.modelVersionId);
    }

    function decorate(card, tab, byPath) {
        if (card.querySelector(".civitai-companion-card")) return;
        var copy = card.querySelector("[data-clipboard-text]");
        var row = copy && byPath[normPath(copy.getAttribute("data-clipboard-text"))];
        var buttons = card.querySelector(".button-row");
        if (!row || !row.modelId || !buttons) return;
        var add = document.createElement("div");
        add.className = "civitai-companion-card card-button";
        add.title = (words(row) ? "Add trigger words: " + words(row) : "No trigger words") +
            " (Shift-click: open in the Civitai tab)" + (row.newerVersionId ? " - a newer version exists" : "");
        add.textContent = "C";
        add.addEventListener("click", function (event) {
            event.stopPropagation();  // the card's own click adds the network to the prompt
            event.preventDefault();
            if (event.shiftKey || !words(row)) openInTab(row);
            else addToPrompt(tab, words(row), false);
        });
        buttons.insertBefore(add, buttons.firstChild);
        if (row.newerVersionId) {
            // The button row shows only on hover; the update dot is on the card itself, always in sight.
            var dot = document.createElement("div");
            dot.className = "civitai-companion-update";
            dot.title = "A newer version is on Civitai (click: open it in the Civitai tab)";
            dot.setAttribute("role", "button");
            dot.addEventListener("click", function (event) {
                event.stopPropagation();
                event.preventDefault();
                openInTab({modelId: row.modelId, modelVersionId: row.newerVersionId});
            });
            card.appendChild(dot);
        }
    }

    function decorateAll() {
        var containers = [];
        ["txt2img", "img2img"].forEach(function (tab) {
            CARD_PAGES.forEach(function (page) {
                var el = root().querySelector("#" + tab + "_" + page + "_cards");
                if (el) containers.push([tab, el]);
            });
        });
        if (!containers.length) return;
        var fresh = stale;
        stale = false;
        loadLibrary().then(function (byPath) {
            containers.forEach(function (pair) {
                if (fresh) {
                    pair[1].querySelectorAll(".civitai-companion-card, .civitai-companion-update")
                        .forEach(function (el) { el.remove(); });
                }
                pair[1].querySelectorAll(".card").forEach(function (card) {
                    try { decorate(card, pair[0], byPath); } catch (e) { /* a card we do not know */ }
                });
            });
        });
    }

    // -- start -----------------------------------------------------------------------------------------
    var scheduled = false;

    function scan() {
        scheduled = false;
        var mount = root().querySelector("civitai-companion");
        if (mount) loadApp(mount);
        try { decorateAll(); } catch (e) { /* the WebUI's DOM differs: no card controls */ }
    }

    function schedule() {
        if (!scheduled) { scheduled = true; setTimeout(scan, 200); }
    }

    new MutationObserver(schedule).observe(document, {childList: true, subtree: true});

    window.civitaiCompanion = {appendUnique: appendUnique};
})();
