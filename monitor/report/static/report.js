
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
