"""Our own script with its style for the pages (inlined in every page; no third-party code).

The script adds, on top of the folium map: the imagery panel (date slider, true/false
colour, before/after swipe with its divider), the detection popups and the legend. Data
comes in one JSON object (``monitor.report.safe.script_json``); every text that reaches the
DOM from it goes through ``textContent`` or was escaped in Python first (popups, legend).
"""

from __future__ import annotations

__all__ = ["REPORT_CSS", "REPORT_JS"]

REPORT_CSS = r"""
:root { --mr-ink: #1d2327; --mr-muted: #5c6770; --mr-line: #d5dadf; --mr-sim: #b3121f; }
html, body { margin: 0; padding: 0; height: 100%; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--mr-ink); background: #fff; }
.mr-banner { background: var(--mr-sim); color: #fff; font-weight: 700; padding: 6px 16px;
  letter-spacing: .02em; }
.mr-banner span { font-weight: 400; }
.mr-top { padding: 10px 16px 8px; border-bottom: 1px solid var(--mr-line); }
.mr-top h1 { margin: 0; font-size: 1.35rem; }
.mr-top nav { float: right; }
.mr-sub { margin: 2px 0 0; color: var(--mr-muted); font-size: .9rem; }
.mr-main { padding: 4px 16px 24px; max-width: 1100px; }
.mr-main section { margin-top: 18px; }
.mr-main h2 { font-size: 1.1rem; margin: 0 0 6px; border-bottom: 1px solid var(--mr-line); }
.mr-muted, .path { color: var(--mr-muted); }
.path { font-family: ui-monospace, monospace; font-size: .85em; word-break: break-all; }
table.mr-table { border-collapse: collapse; font-size: .9rem; }
table.mr-table th, table.mr-table td { border-bottom: 1px solid var(--mr-line);
  padding: 3px 8px 3px 0; text-align: left; vertical-align: top; }
table.mr-table td.num, table.mr-table th.num { text-align: right; }
table.mr-table td:first-child { white-space: nowrap; }
code { font-family: ui-monospace, monospace; font-size: .85em; }
.mr-swatch { display: inline-block; width: 11px; height: 11px; border: 2px solid;
  vertical-align: -1px; margin-right: 4px; }
.mr-status { font-size: .8em; padding: 0 5px; border-radius: 3px; border: 1px solid #999; }
.mr-status-confirmed { background: #222; color: #fff; border-color: #222; }
.mr-status-probable { border-style: dashed; }
.mr-status-rejected { color: #777; border-style: dotted; }
.mr-review { font-size: .8em; padding: 0 5px; border-radius: 3px; color: #fff; }
.mr-review-verified { background: #1f7a3a; } .mr-review-false_alarm { background: #8a1c1c; }
.mr-review-unsure { background: #8a6d1c; }
.mr-panel { background: rgba(255,255,255,.95); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.35); font-size: 13px; width: 250px; }
.mr-panel fieldset { border: 0; padding: 0; margin: 0 0 4px; }
.mr-panel label { margin-right: 8px; white-space: nowrap; }
.mr-panel input[type=range] { width: 100%; }
.mr-panel select { max-width: 100%; }
.mr-panel .mr-row { margin: 3px 0; }
.mr-panel .mr-date { font-weight: 600; }
#mr-frame-scene { word-break: break-all; font-size: 11px; }
.mr-divider { position: absolute; width: 0; border-left: 2px solid #fff;
  box-shadow: 0 0 3px rgba(0,0,0,.6); display: none; }
.mr-divider-handle { position: absolute; top: 50%; left: -15px; width: 28px; height: 28px;
  margin-top: -14px; border-radius: 50%; background: #fff; cursor: ew-resize;
  box-shadow: 0 0 4px rgba(0,0,0,.6); touch-action: none; pointer-events: auto; }
.mr-divider-handle::before { content: "\2194"; display: block; text-align: center;
  line-height: 28px; font-size: 16px; color: #333; }
.mr-divider-tag { position: absolute; top: 8px; background: rgba(0,0,0,.65); color: #fff;
  font-size: 12px; padding: 1px 5px; white-space: nowrap; }
.mr-divider-tag.mr-left { right: 6px; } .mr-divider-tag.mr-right { left: 6px; }
.mr-legend { background: rgba(255,255,255,.95); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.35); font-size: 12px; line-height: 1.5; }
.mr-legend b { display: block; }
.mr-line { display: inline-block; width: 22px; height: 0; border-top: 2px solid #333;
  vertical-align: middle; margin-right: 4px; }
.mr-popup { font-size: 13px; }
.mr-popup h3 { font-size: 14px; margin: 0 0 4px; }
.mr-popup table th { text-align: left; padding-right: 6px; font-weight: 600; }
.mr-popup table td, .mr-popup table th { padding: 0 6px 0 0; vertical-align: top; }
.mr-thumbs { display: flex; gap: 8px; margin: 6px 0; }
.mr-thumbs figure { margin: 0; }
.mr-thumbs figcaption { font-size: 11px; color: var(--mr-muted); }
.mr-thumb { position: relative; width: 150px; height: 150px; background: #111; }
.mr-thumb img, .mr-thumb svg { position: absolute; left: 0; top: 0; width: 100%;
  height: 100%; image-rendering: pixelated; }
.mr-chart { display: block; margin-top: 4px; }
.mr-chart-label { font: 600 10px sans-serif; fill: #333; }
.mr-chart-tick { font: 9px sans-serif; fill: #666; }
.mr-chart-key { font-size: 11px; color: var(--mr-muted); margin: 2px 0; }
.mr-key-dot { display: inline-block; width: 6px; height: 6px; border-radius: 50%;
  background: #555; }
.mr-key-tick { display: inline-block; width: 1px; height: 8px; background: #777; }
.mr-key-light { background: #bbb; }
.mr-key-window { display: inline-block; width: 12px; height: 8px; background: #f2c14e; }
.mr-key-confirm { display: inline-block; width: 10px; border-top: 1px dashed #222;
  vertical-align: middle; }
.mr-sim-text { color: var(--mr-sim); }
.mr-evidence { font-size: 11px; word-break: break-all; }
.mr-notes li { margin: 2px 0; }
button.mr-link { background: none; border: 0; color: #0645ad; cursor: pointer; padding: 0;
  font: inherit; text-decoration: underline; }
.leaflet-container { background: #d9dde1; }
/* 10 m pixels shown as pixels, not smoothed into detail that is not there. */
.leaflet-image-layer { image-rendering: pixelated; }
.leaflet-popup-content { margin: 10px 12px; }
@media print { .mr-panel, .mr-divider { display: none !important; } }
"""

REPORT_JS = r"""
(function () {
  "use strict";

  function make(tag, className, parent, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function radio(parent, name, value, label, checked, id) {
    var wrap = make("label", "", parent);
    var input = make("input", "", wrap);
    input.type = "radio"; input.name = name; input.value = value; input.checked = checked;
    if (id) { input.id = id; }
    wrap.appendChild(document.createTextNode(" " + label));
    return input;
  }

  function frameLabel(frame) {
    var clear = frame.clear === null ? "" : " · " + Math.round(frame.clear * 100) + "% clear";
    return frame.date + clear;
  }

  function detectionLayers(layers) {
    var found = {};
    Object.keys(layers).forEach(function (status) {
      layers[status].eachLayer(function (layer) {
        var id = layer.feature && layer.feature.properties && layer.feature.properties.id;
        if (id) { found[id] = {layer: layer, group: layers[status]}; }
      });
    });
    return found;
  }

  function initAoi(map, data, layers) {
    var report = {map: map, data: data, layers: layers, detections: {}};
    window.MonitorReport.current = report;

    // Detections: one popup each, its HTML escaped in Python.
    var found = detectionLayers(layers);
    Object.keys(found).forEach(function (id) {
      var info = data.detections[id];
      if (!info) { return; }
      found[id].layer.bindPopup(info.popup, {
        maxWidth: 380, minWidth: 340, className: "mr-popup-" + id,
        maxHeight: Math.max(240, map.getSize().y - 170), autoPanPadding: [20, 20]});
    });
    report.detections = found;
    document.querySelectorAll("[data-show-detection]").forEach(function (button) {
      button.addEventListener("click", function () {
        var entry = found[button.getAttribute("data-show-detection")];
        if (!entry) { return; }
        if (!map.hasLayer(entry.group)) { map.addLayer(entry.group); }
        map.fitBounds(entry.layer.getBounds(), {maxZoom: 17, padding: [40, 40]});
        entry.layer.openPopup();
        document.getElementById(data.map_id).scrollIntoView({block: "start"});
      });
    });

    // Legend (our own text, built in Python).
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "mr-legend");
      box.innerHTML = data.legend;
      return box;
    };
    legend.addTo(map);

    if (!data.frames.length) { return report; }

    // Imagery: one overlay for the slider, two clipped ones for the comparison.
    ["mr-frame", "mr-before", "mr-after"].forEach(function (name, i) {
      var pane = map.createPane(name);
      pane.style.zIndex = 250 + i;
      pane.style.pointerEvents = "none";
    });
    // The divider sits above the outlines and below popups (Leaflet's popup pane is 700).
    var dividerPane = map.createPane("mr-divider-pane");
    dividerPane.style.zIndex = 640;
    dividerPane.style.pointerEvents = "none";
    var state = {mode: "timeline", colour: "true", frame: data.compare.after,
                 before: data.compare.before, after: data.compare.after, divider: 0.5};
    report.state = state;
    function url(i) {
      return state.colour === "false" ? data.frames[i].false : data.frames[i].true;
    }
    var frameLayer = L.imageOverlay(url(state.frame), data.image_bounds,
                                    {pane: "mr-frame", interactive: false}).addTo(map);
    var beforeLayer = L.imageOverlay(url(state.before), data.image_bounds,
                                     {pane: "mr-before", interactive: false});
    var afterLayer = L.imageOverlay(url(state.after), data.image_bounds,
                                    {pane: "mr-after", interactive: false});
    report.overlays = {frame: frameLayer, before: beforeLayer, after: afterLayer};

    // The divider of the before/after swipe.
    var container = map.getContainer();
    var divider = make("div", "mr-divider", dividerPane);
    divider.id = "mr-divider";
    var beforeTag = make("div", "mr-divider-tag mr-left", divider);
    var afterTag = make("div", "mr-divider-tag mr-right", divider);
    var handle = make("div", "mr-divider-handle", divider);
    handle.id = "mr-divider-handle";
    handle.tabIndex = 0;
    handle.title = "Drag (or use the arrow keys) to move the before/after divider";
    handle.setAttribute("role", "slider");
    handle.setAttribute("aria-label", "Before/after divider");
    function placeDivider() {
      var size = map.getSize();
      var x = Math.round(size.x * state.divider);
      handle.setAttribute("aria-valuenow", String(Math.round(state.divider * 100)));
      var nw = map.containerPointToLayerPoint([0, 0]);
      var se = map.containerPointToLayerPoint(size);
      var cut = map.containerPointToLayerPoint([x, 0]).x;
      divider.style.left = cut + "px";
      divider.style.top = nw.y + "px";
      divider.style.height = size.y + "px";
      map.getPane("mr-before").style.clip =
        "rect(" + nw.y + "px," + cut + "px," + se.y + "px," + nw.x + "px)";
      map.getPane("mr-after").style.clip =
        "rect(" + nw.y + "px," + se.x + "px," + se.y + "px," + cut + "px)";
    }
    map.on("move zoom zoomend resize viewreset", placeDivider);
    var dragging = false;
    function dragTo(clientX) {
      var rect = container.getBoundingClientRect();
      state.divider = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
      placeDivider();
    }
    handle.addEventListener("pointerdown", function (e) {
      dragging = true;
      handle.setPointerCapture(e.pointerId);
      map.dragging.disable();
      e.preventDefault(); e.stopPropagation();
    });
    handle.addEventListener("pointermove", function (e) { if (dragging) { dragTo(e.clientX); } });
    function stop(e) {
      if (!dragging) { return; }
      dragging = false;
      map.dragging.enable();
      if (handle.hasPointerCapture(e.pointerId)) { handle.releasePointerCapture(e.pointerId); }
    }
    handle.addEventListener("pointerup", stop);
    handle.addEventListener("pointercancel", stop);
    handle.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowLeft" ? -0.02 : e.key === "ArrowRight" ? 0.02 : 0;
      if (!step) { return; }
      state.divider = Math.min(1, Math.max(0, state.divider + step));
      placeDivider();
      e.preventDefault();
    });
    L.DomEvent.disableClickPropagation(divider);

    // The imagery panel.
    var panel = L.control({position: "topright"});
    var ui = {};
    panel.onAdd = function () {
      var box = L.DomUtil.create("div", "mr-panel");
      box.id = "mr-panel";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var modes = make("fieldset", "", box);
      ui.timeline = radio(modes, "mr-mode", "timeline", "Date slider", true, "mr-mode-timeline");
      ui.compare = radio(modes, "mr-mode", "compare", "Before / after", false, "mr-mode-compare");
      var colours = make("fieldset", "", box);
      ui.trueColour = radio(colours, "mr-colour", "true", "True colour", true, "mr-colour-true");
      ui.falseColour = radio(colours, "mr-colour", "false", "False colour (SWIR)", false,
                             "mr-colour-false");
      ui.timelineBox = make("div", "", box);
      var row = make("div", "mr-row", ui.timelineBox);
      ui.play = make("button", "", row, "\u25B6");
      ui.play.type = "button"; ui.play.title = "Play the months"; ui.play.id = "mr-play";
      ui.dateText = make("span", "mr-date", row, " ");
      ui.dateText.id = "mr-frame-date";
      ui.slider = make("input", "", ui.timelineBox);
      ui.slider.type = "range"; ui.slider.min = "0"; ui.slider.max = String(data.frames.length - 1);
      ui.slider.step = "1"; ui.slider.value = String(state.frame); ui.slider.id = "mr-slider";
      ui.slider.setAttribute("aria-label", "Month shown");
      ui.sceneText = make("div", "mr-muted", ui.timelineBox);
      ui.sceneText.id = "mr-frame-scene";
      ui.compareBox = make("div", "", box);
      ui.compareBox.style.display = "none";
      ["before", "after"].forEach(function (side) {
        var line = make("div", "mr-row", ui.compareBox);
        make("span", "", line, side === "before" ? "Before: " : "After: ");
        var select = make("select", "", line);
        select.id = "mr-" + side + "-select";
        data.frames.forEach(function (frame, i) {
          var option = make("option", "", select, frameLabel(frame));
          option.value = String(i);
        });
        select.value = String(state[side]);
        ui[side] = select;
      });
      make("div", "mr-muted", ui.compareBox, "Drag the divider on the map.");
      make("div", "mr-muted", box, "One image per month: the clearest view of that month.");
      return box;
    };
    panel.addTo(map);

    function refresh() {
      var frame = data.frames[state.frame];
      frameLayer.setUrl(url(state.frame));
      beforeLayer.setUrl(url(state.before));
      afterLayer.setUrl(url(state.after));
      ui.dateText.textContent = " " + frameLabel(frame);
      ui.sceneText.textContent = frame.scene;
      beforeTag.textContent = "before: " + data.frames[state.before].date;
      afterTag.textContent = "after: " + data.frames[state.after].date;
    }
    function setMode(mode) {
      state.mode = mode;
      var compare = mode === "compare";
      ui.timelineBox.style.display = compare ? "none" : "";
      ui.compareBox.style.display = compare ? "" : "none";
      divider.style.display = compare ? "block" : "none";
      if (compare) {
        map.removeLayer(frameLayer); beforeLayer.addTo(map); afterLayer.addTo(map);
        placeDivider();
      } else {
        map.removeLayer(beforeLayer); map.removeLayer(afterLayer); frameLayer.addTo(map);
      }
    }
    var timer = null;
    function stopPlaying() {
      if (timer !== null) { clearInterval(timer); timer = null; ui.play.textContent = "\u25B6"; }
    }
    ui.slider.addEventListener("input", function () {
      state.frame = parseInt(ui.slider.value, 10); refresh();
    });
    ui.play.addEventListener("click", function () {
      if (timer !== null) { stopPlaying(); return; }
      ui.play.textContent = "\u275A\u275A";
      timer = setInterval(function () {
        state.frame = (state.frame + 1) % data.frames.length;
        ui.slider.value = String(state.frame);
        refresh();
      }, 900);
    });
    [ui.timeline, ui.compare].forEach(function (input) {
      input.addEventListener("change", function () { stopPlaying(); setMode(input.value); });
    });
    [ui.trueColour, ui.falseColour].forEach(function (input) {
      input.addEventListener("change", function () { state.colour = input.value; refresh(); });
    });
    ["before", "after"].forEach(function (side) {
      ui[side].addEventListener("change", function () {
        state[side] = parseInt(ui[side].value, 10); refresh();
      });
    });
    refresh();
    report.setMode = setMode;
    return report;
  }

  function initIndex(map, data, outlines) {
    var pane = map.createPane("mr-previews");
    pane.style.zIndex = 250;
    pane.style.pointerEvents = "none";
    var previews = [];
    data.aois.forEach(function (info) {
      if (info.image) {
        previews.push(L.imageOverlay(info.image, info.bounds,
                                     {pane: "mr-previews", interactive: false}).addTo(map));
      }
    });
    outlines.eachLayer(function (layer) {
      var i = layer.feature && layer.feature.properties ? layer.feature.properties.index : -1;
      var info = data.aois[i];
      if (!info) { return; }
      layer.bindPopup(info.popup, {maxWidth: 320});
      // The name above the outline's northernmost point; an AOI inside another one's
      // bounds (kk-park-east in kk-park) has it right of its easternmost point instead.
      var bounds = layer.getBounds();
      var nested = false;
      outlines.eachLayer(function (other) {
        if (other !== layer && other.getBounds().contains(bounds)) { nested = true; }
      });
      var anchor = null;
      layer.getLatLngs().flat(3).forEach(function (p) {
        if (!anchor || (nested ? p.lng > anchor.lng : p.lat > anchor.lat)) { anchor = p; }
      });
      L.tooltip({permanent: true, direction: nested ? "right" : "top",
                 className: "mr-aoi-label", interactive: false})
        .setLatLng(anchor).setContent(info.label).addTo(map);
    });
    window.MonitorReport.current = {map: map, data: data, outlines: outlines,
                                    previews: previews};
  }

  window.MonitorReport = {initAoi: initAoi, initIndex: initIndex, current: null};
})();
"""
