// Downloads: the queue with progress, speed and ETA; cancel, retry (the transaction resumes the .part file)
// and, when done, where the file went.
import { api } from "../api.js";
import { h, clear, formatBytes, formatDuration, oneLine } from "../dom.js";

const LABELS = { queued: "queued", running: "downloading", done: "done", failed: "failed", cancelled: "cancelled" };

export class DownloadsView {
  constructor(app) {
    this.app = app;
    this.list = h("div", { class: "jobs", role: "list", "aria-label": "Downloads" });
    this.status = h("div", { class: "state", role: "status" });
    this.rows = new Map();
    this.clearButton = h("button", { type: "button", text: "Clear finished", hidden: true, on: { click: () => this.clearFinished() } });
    this.el = h("section", { "data-view": "downloads" },
      h("div", { class: "row", style: { justifyContent: "flex-end", marginBottom: "8px" } }, this.clearButton), this.list, this.status);
    this.render(app.jobs);
  }

  shown() {
    this.app.loadSettings().catch(() => {});  // the models folder, to show short paths
    this.app.pollSoon();
  }

  jobsChanged(jobs) {
    this.render(jobs);
  }

  render(jobs) {
    const downloads = jobs.downloads || [];
    if (this.app.jobsError && !downloads.length) {
      this.status.textContent = oneLine(this.app.jobsError);
      this.status.classList.add("error");
    } else {
      this.status.classList.remove("error");
      this.status.textContent = downloads.length ? "" : "Nothing downloading. Pick a file on a model's page to start.";
    }
    this.clearButton.hidden = !downloads.some((j) => !["queued", "running"].includes(j.state));
    const seen = new Set();
    // Newest first, so a fresh download is at the top.
    for (const job of [...downloads].reverse()) {
      seen.add(job.id);
      let row = this.rows.get(job.id);
      if (!row) {
        row = this.makeRow(job);
        this.rows.set(job.id, row);
      }
      this.list.append(row.el);  // keeps the order of the answer
      this.update(row, job);
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    }
  }

  makeRow(job) {
    const row = {
      title: h("div", { class: "title" }),
      state: h("span", { class: "badge" }),
      bar: h("progress", { max: 1, value: 0, "aria-label": "progress" }),
      figures: h("span", { class: "small muted" }),
      detail: h("div", { class: "small" }),
      actions: h("div", { class: "row" }),
    };
    row.el = h("div", { class: "job", role: "listitem", "data-job-id": job.id },
      h("div", { class: "row" }, row.title, h("span", { class: "grow" }), row.state), row.bar, row.figures, row.detail, row.actions);
    return row;
  }

  update(row, job) {
    row.el.dataset.state = job.state;
    row.title.textContent = job.fileName || `version ${job.versionId}`;
    row.state.textContent = LABELS[job.state] || job.state;
    row.state.className = "badge " + ({ done: "ok", failed: "bad", running: "warn" }[job.state] || "");
    const total = Number(job.total) || 0;
    const bytes = Number(job.bytes) || 0;
    if (total > 0) { row.bar.max = total; row.bar.value = Math.min(bytes, total); }
    else if (job.state === "done") { row.bar.max = 1; row.bar.value = 1; }
    else if (job.state === "running") row.bar.removeAttribute("value");  // indeterminate until the size is known
    else { row.bar.max = 1; row.bar.value = 0; }
    row.bar.hidden = job.state === "cancelled" || (job.state === "failed" && !bytes);
    const parts = [total ? `${formatBytes(bytes)} of ${formatBytes(total)}` : formatBytes(bytes)];
    if (job.state === "running" && job.speed > 0) {
      parts.push(`${formatBytes(job.speed)}/s`);
      const eta = typeof job.eta === "number" ? job.eta : total > bytes ? (total - bytes) / job.speed : null;
      if (eta !== null) parts.push(`${formatDuration(eta)} left`);
    }
    if (job.state === "queued" || (job.state === "running" && !bytes && job.phase)) parts.push(job.phase || "waiting");
    row.figures.textContent = parts.join(" · ");
    clear(row.detail);
    clear(row.actions);
    if (job.state === "done" && job.path) {
      row.detail.append(h("span", { class: "muted", text: "Saved to " }),
        h("span", { class: "path", "data-path": job.path, title: job.path, text: this.app.shortPath(job.path) }));
    } else if (job.state === "failed") {
      row.detail.append(h("span", { class: "error", "data-error": "", text: oneLine(job.error || "The download failed.") }));
    }
    if (job.state === "queued" || job.state === "running") {
      row.actions.append(h("button", { type: "button", text: "Cancel", on: { click: (e) => this.cancel(job, e.target) } }));
    } else if (job.state === "failed" || job.state === "cancelled") {
      row.actions.append(h("button", { type: "button", class: "primary", text: "Retry", title: "Resumes where it stopped",
        on: { click: (e) => this.retry(job, e.target) } }));
    }
  }

  async clearFinished() {
    try {
      await api("downloads", { method: "DELETE" });
    } catch (error) {
      this.app.toast(oneLine(error));
    }
    this.app.pollSoon();
  }

  async cancel(job, button) {
    button.disabled = true;
    try {
      await api(`downloads/${encodeURIComponent(job.id)}`, { method: "DELETE" });
    } catch (error) {
      this.app.toast(oneLine(error));
    }
    this.app.pollSoon();
  }

  async retry(job, button) {
    button.disabled = true;
    try {
      await api(`downloads/${encodeURIComponent(job.id)}/retry`, { method: "POST", body: {} });
    } catch (error) {
      button.disabled = false;
      this.app.toast(oneLine(error));
    }
    this.app.pollSoon();
  }
}
