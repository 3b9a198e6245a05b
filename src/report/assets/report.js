// The report page's script (src/report/page.ts inlines it): sortable table, charts drawn when
// scrolled into view, the sweep charts of one metric at a time, gallery rows of the chosen
// category drawn on canvases, and a larger view on click. Plain JS, no framework; the chart
// libraries (globals vega, vegaLite, vegaEmbed) load from vendor/ when the first chart is needed.
(function () {
  'use strict';
  performance.mark('report:start');
  var data = JSON.parse(document.getElementById('report-data').textContent);
  performance.mark('report:parsed');
  var runLabel = {};
  data.runs.forEach(function (r) { runLabel[r.id] = r.label; });

  // --- table: sort the runs inside each category group -------------------------------------
  var table = document.getElementById('metrics-table');
  if (table) {
    table.querySelectorAll('thead th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var desc = th.getAttribute('aria-sort') !== 'descending';
        table.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
        var key = th.dataset.sort;
        table.querySelectorAll('tbody').forEach(function (tb) {
          var rows = Array.prototype.slice.call(tb.rows);
          var first = rows.length ? rows[0].cells[0].innerHTML : '';
          rows.forEach(function (r) { r.cells[0].innerHTML = ''; });
          rows.sort(function (a, b) {
            var va = value(a, key, col), vb = value(b, key, col);
            if (va === null && vb === null) return 0;
            if (va === null) return 1;
            if (vb === null) return -1;
            var c = typeof va === 'number' ? va - vb : String(va).localeCompare(String(vb));
            return desc ? -c : c;
          });
          rows.forEach(function (r) { tb.appendChild(r); });
          if (rows.length) rows[0].cells[0].innerHTML = first;
        });
      });
    });
  }
  function value(row, key, col) {
    if (key === 'category') return null;
    if (key === 'run') return row.cells[1].textContent;
    var cell = row.cells[col];
    return cell && cell.dataset.v !== undefined && cell.dataset.v !== '' ? Number(cell.dataset.v) : null;
  }

  // --- charts: embedded when scrolled into view (or all at once, see window.report) ---------
  var pending = new Map();
  // vega, vega-lite and vega-embed (vendor/, beside the page) load on the first chart drawn, so
  // the table and the gallery do not wait for ~0.8 MB of script.
  var vegaReady = null;
  function loadVega() {
    if (!vegaReady) {
      vegaReady = data.vendor.reduce(function (p, src) {
        return p.then(function () {
          return new Promise(function (resolve, reject) {
            var el = document.createElement('script');
            el.src = src;
            el.onload = resolve;
            el.onerror = function () { reject(new Error('cannot load ' + src)); };
            document.head.appendChild(el);
          });
        });
      }, Promise.resolve());
    }
    return vegaReady;
  }
  function draw(el) {
    if (el.dataset.state) return pending.get(el) || Promise.resolve();
    el.dataset.state = 'drawing';
    var spec = data.specs[el.dataset.spec];
    var p = loadVega().then(function () {
      return vegaEmbed(el, spec, { actions: false, renderer: 'svg' });
    }).then(function (res) {
      el.dataset.state = 'drawn';
      el._view = res.view;
    }, function (err) {
      el.dataset.state = 'error';
      el.textContent = 'chart error: ' + err;
      console.error(err);
    });
    pending.set(el, p);
    return p;
  }
  var charts = Array.prototype.slice.call(document.querySelectorAll('.chart[data-spec]'));
  if ('IntersectionObserver' in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { io.unobserve(e.target); draw(e.target); } });
    }, { rootMargin: '300px' });
    charts.forEach(function (c) { io.observe(c); });
  } else charts.forEach(draw);

  // --- sweeps: the charts of one metric at a time ------------------------------------------
  var sweepMetric = document.getElementById('sweep-metric');
  function showSweepMetric(metric) {
    if (!sweepMetric) return;
    sweepMetric.value = metric;
    document.querySelectorAll('#sweeps .chart[data-metric]').forEach(function (c) { c.hidden = c.dataset.metric !== metric; });
  }
  if (sweepMetric) sweepMetric.addEventListener('change', function () { showSweepMetric(sweepMetric.value); });

  // --- gallery: tiles drawn on canvases (the style of src/viz/overlay.ts, OVERLAY_STYLE) ----
  var g = data.gallery;
  var sel = document.getElementById('gallery-category');
  var onlyAnomalous = document.getElementById('gallery-anomalous');
  var box = document.getElementById('gallery');
  var viewer = document.getElementById('viewer');
  var viewerCanvas = document.getElementById('viewer-canvas');
  var viewerCaption = document.getElementById('viewer-caption');
  var S = g ? g.style : null;
  var LUT = new Uint8Array(256 * 3);
  for (var k = 0; k < 256; k++) { // MATLAB jet, as src/viz/colormap.ts
    var v = k / 255;
    LUT[3 * k] = Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 3))));
    LUT[3 * k + 1] = Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 2))));
    LUT[3 * k + 2] = Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 1))));
  }
  var images = new Map();
  function loadImage(url) {
    if (!images.has(url)) {
      images.set(url, new Promise(function (resolve, reject) {
        var im = new Image();
        im.decoding = 'async';
        im.onload = function () { resolve(im); };
        im.onerror = function () { reject(new Error('cannot load ' + url.slice(0, 60))); };
        im.src = url;
      }));
    }
    return images.get(url);
  }
  var scripts = new Map();
  function loadCategoryData(ci) {
    if (!scripts.has(ci)) {
      scripts.set(ci, new Promise(function (resolve, reject) {
        var el = document.createElement('script');
        el.src = g.categories[ci].script;
        el.onload = function () { resolve(window.__iapasGallery[ci]); };
        el.onerror = function () { reject(new Error('cannot load ' + el.src)); };
        document.head.appendChild(el);
      }));
    }
    return scripts.get(ci);
  }
  // Pixels of a data: image at w x h (never of a file:// image: that taints the canvas, and
  // reading a tainted canvas throws).
  function pixels(im, w, h, smooth) {
    var c = document.createElement('canvas');
    c.width = w; c.height = h;
    var x = c.getContext('2d', { willReadFrequently: true });
    x.imageSmoothingEnabled = smooth;
    x.imageSmoothingQuality = 'high';
    x.drawImage(im, 0, 0, w, h);
    return x.getImageData(0, 0, w, h).data;
  }
  function band(mask, w, h, r) { // edge pixels of a mask, widened by r on both sides
    var edge = new Uint8Array(w * h);
    for (var y = 0; y < h; y++) for (var x = 0; x < w; x++) {
      var i = y * w + x;
      if (mask[i] && (x === 0 || y === 0 || x === w - 1 || y === h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w])) edge[i] = 1;
    }
    return dilate(edge, w, h, r);
  }
  function dilate(m, w, h, r) {
    if (r <= 0) return m;
    var tmp = new Uint8Array(w * h), out = new Uint8Array(w * h), x, y, d;
    for (y = 0; y < h; y++) for (x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      for (d = Math.max(0, x - r); d <= Math.min(w - 1, x + r); d++) tmp[y * w + d] = 1;
    }
    for (y = 0; y < h; y++) for (x = 0; x < w; x++) {
      if (!tmp[y * w + x]) continue;
      for (d = Math.max(0, y - r); d <= Math.min(h - 1, y + r); d++) out[d * w + x] = 1;
    }
    return out;
  }
  // One tile: image (desaturated under a heat map), heat map, outlines, prompts.
  function compose(canvas, base, mapIm, gtIm, thr, prompts) {
    var w = canvas.width, h = canvas.height, n = w * h, i;
    var ctx = canvas.getContext('2d');
    ctx.filter = mapIm ? 'saturate(' + S.saturation + ')' : 'none';
    ctx.drawImage(base, 0, 0, w, h);
    ctx.filter = 'none';
    var ov = new ImageData(w, h), o = ov.data, pred = null;
    if (mapIm) {
      var m = pixels(mapIm, w, h, true);
      if (thr !== null && thr !== undefined) pred = new Uint8Array(n);
      var span = Math.max(1e-6, S.full - S.floor);
      for (i = 0; i < n; i++) {
        var t = m[4 * i] / 255;
        if (pred && t >= thr) pred[i] = 1;
        if (!(t > S.floor)) continue;
        var q = Math.round(t * 255);
        o[4 * i] = LUT[3 * q]; o[4 * i + 1] = LUT[3 * q + 1]; o[4 * i + 2] = LUT[3 * q + 2];
        o[4 * i + 3] = Math.round(255 * S.alpha * Math.min(1, (t - S.floor) / span));
      }
    }
    var th = Math.max(1, Math.round(Math.max(w, h) / S.pxPerLine));
    var coreR = Math.floor((th - 1) / 2), haloR = Math.max(1, Math.ceil(th / 2));
    var layers = []; // [core, halo, colour]
    if (gtIm) {
      var gto = gtOutline(gtIm, w, h, coreR, haloR);
      layers.push([gto.core, gto.halo, S.groundTruth]);
    }
    if (pred) {
      var pc = band(pred, w, h, coreR);
      layers.push([pc, dilate(pc, w, h, haloR), S.prediction]);
    }
    layers.forEach(function (l) { paint(o, l[1], S.halo); });
    layers.forEach(function (l) { paint(o, l[0], l[2]); });
    var oc = document.createElement('canvas');
    oc.width = w; oc.height = h;
    oc.getContext('2d').putImageData(ov, 0, 0);
    ctx.drawImage(oc, 0, 0);
    if (prompts) {
      var col = 'rgb(' + S.prompt.join(',') + ')', halo = 'rgb(' + S.halo.join(',') + ')';
      prompts.b.forEach(function (b) {
        var x0 = b[0] * w, y0 = b[1] * h, bw = (b[2] - b[0]) * w, bh = (b[3] - b[1]) * h;
        ctx.lineWidth = th + 2; ctx.strokeStyle = halo; ctx.strokeRect(x0, y0, bw, bh);
        ctx.lineWidth = th; ctx.strokeStyle = col; ctx.strokeRect(x0, y0, bw, bh);
      });
      prompts.p.forEach(function (p) {
        var r = th + 1.5;
        ctx.fillStyle = halo; ctx.fillRect(p[0] * w - r - 1, p[1] * h - r - 1, 2 * r + 2, 2 * r + 2);
        ctx.fillStyle = col; ctx.fillRect(p[0] * w - r, p[1] * h - r, 2 * r, 2 * r);
      });
    }
  }
  // The ground-truth outline of an image at a tile size, computed once for all the image's tiles.
  var gtOutlines = new WeakMap();
  function gtOutline(gtIm, w, h, coreR, haloR) {
    var bySize = gtOutlines.get(gtIm);
    if (!bySize) { bySize = {}; gtOutlines.set(gtIm, bySize); }
    var key = w + 'x' + h;
    if (!bySize[key]) {
      var gp = pixels(gtIm, w, h, false), gt = new Uint8Array(w * h);
      for (var i = 0; i < gt.length; i++) gt[i] = gp[4 * i] > 127 ? 1 : 0;
      var core = band(gt, w, h, coreR);
      bySize[key] = { core: core, halo: dilate(core, w, h, haloR) };
    }
    return bySize[key];
  }
  function paint(o, m, c) {
    for (var i = 0; i < m.length; i++) if (m[i]) { o[4 * i] = c[0]; o[4 * i + 1] = c[1]; o[4 * i + 2] = c[2]; o[4 * i + 3] = 255; }
  }
  function drawTile(canvas, full) {
    var d = canvas.dataset, ci = Number(d.ci), cat = g.categories[ci], im = cat.images[Number(d.ii)], run = d.run || null;
    canvas.dataset.state = 'loading';
    return loadCategoryData(ci).then(function (cd) {
      var mapUrl = run ? (cd.maps[im.key] || {})[run] : null, gtUrl = cd.gt[im.key];
      return Promise.all([loadImage(full ? im.full : im.thumb), mapUrl ? loadImage(mapUrl) : null, gtUrl ? loadImage(gtUrl) : null]).then(function (ims) {
        compose(canvas, ims[0], ims[1], ims[2], run ? cat.runs[run].threshold : null, run ? im.prompts[run] : null);
        canvas.dataset.state = 'drawn';
        canvas.dataset.baseWidth = ims[0].naturalWidth;
      });
    }).catch(function (e) { canvas.dataset.state = 'error'; console.error(e); });
  }
  var tileObserver = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) { tileObserver.unobserve(e.target); drawTile(e.target, false); } });
  }, { rootMargin: '200px' }) : null;
  function fit(w, h, side) { var s = Math.min(1, side / Math.max(w, h)); return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))]; }
  function tile(ci, ii, run, caption, title) {
    var im = g.categories[ci].images[ii], sz = fit(im.width, im.height, g.thumb);
    var f = document.createElement('figure');
    var c = document.createElement('canvas');
    c.width = sz[0]; c.height = sz[1];
    c.dataset.ci = ci; c.dataset.ii = ii;
    if (run) c.dataset.run = run;
    c.title = title;
    c.className = 'tile';
    // One line per part (run, mask area), each cut on its own when the column is narrow.
    var cap = document.createElement('figcaption');
    caption.forEach(function (line) {
      var span = document.createElement('span');
      span.textContent = line;
      cap.appendChild(span);
    });
    f.appendChild(c); f.appendChild(cap);
    if (tileObserver) tileObserver.observe(c); else drawTile(c, false);
    return f;
  }
  function showCategory(ci) {
    box.textContent = '';
    if (!g || !g.categories[ci]) return;
    var cat = g.categories[ci];
    var runIds = data.runs.map(function (r) { return r.id; }).filter(function (id) { return cat.runs[id]; });
    loadCategoryData(ci);
    var frag = document.createDocumentFragment();
    cat.images.forEach(function (im, ii) {
      if (onlyAnomalous && onlyAnomalous.checked && im.label !== 'anomalous') return;
      var row = document.createElement('div');
      row.className = 'gallery-row';
      row.dataset.relId = im.relId;
      var meta = document.createElement('div');
      meta.className = 'meta';
      meta.innerHTML = '<b></b><span class="tag ' + (im.label === 'anomalous' ? 'anomalous' : '') + '"></span> <span class="defect"></span><br>disagreement ' + im.disagreement.toFixed(3);
      meta.querySelector('b').textContent = im.relId;
      meta.querySelector('.tag').textContent = im.label;
      meta.querySelector('.defect').textContent = im.defect;
      row.appendChild(meta);
      // One column per run of the category, in the same order on every row (a run without this
      // image leaves its column empty), so a run's tiles line up down the page; columns shrink to
      // fit the width rather than wrap, and the row scrolls sideways below a minimum size.
      var tiles = document.createElement('div');
      tiles.className = 'tiles';
      tiles.style.gridTemplateColumns = 'repeat(' + (1 + runIds.length) + ', minmax(' + Math.min(96, g.thumb) + 'px, ' + g.thumb + 'px))';
      tiles.appendChild(tile(ci, ii, null, ['image', im.gt ? '+ ground truth' : 'no ground truth'], cat.name + ' ' + im.relId));
      runIds.forEach(function (id) {
        if (im.runs.indexOf(id) < 0) {
          var empty = document.createElement('figure');
          empty.className = 'no-map';
          empty.textContent = runLabel[id] + ': no map';
          tiles.appendChild(empty);
          return;
        }
        var a = im.area[id];
        var cap = [runLabel[id], a !== undefined ? 'mask ' + (100 * a).toFixed(1) + '%' : 'no threshold'];
        tiles.appendChild(tile(ci, ii, id, cap, cat.name + ' ' + im.relId + ' — ' + runLabel[id]));
      });
      row.appendChild(tiles);
      frag.appendChild(row);
    });
    box.appendChild(frag);
  }
  if (g && sel) {
    sel.addEventListener('change', function () { showCategory(Number(sel.value)); });
    if (onlyAnomalous) onlyAnomalous.addEventListener('change', function () { showCategory(Number(sel.value)); });
    showCategory(0);
    box.addEventListener('click', function (e) {
      var c = e.target.closest('canvas.tile');
      if (!c) return;
      var im = g.categories[Number(c.dataset.ci)].images[Number(c.dataset.ii)], sz = fit(im.width, im.height, g.full);
      viewerCanvas.width = sz[0]; viewerCanvas.height = sz[1];
      ['ci', 'ii', 'run'].forEach(function (k) { if (c.dataset[k] !== undefined) viewerCanvas.dataset[k] = c.dataset[k]; else delete viewerCanvas.dataset[k]; });
      viewerCaption.textContent = c.title + ' (' + im.width + ' x ' + im.height + ' px)';
      if (viewer.showModal) viewer.showModal(); else viewer.setAttribute('open', '');
      drawTile(viewerCanvas, true);
    });
    viewer.addEventListener('click', function (e) { if (e.target === viewer) viewer.close(); });
  }

  performance.mark('report:end');
  // --- hooks for tests and scripted screenshots ----------------------------------------------
  window.report = {
    drawAllCharts: function () { return Promise.all(charts.map(draw)); },
    showCategory: function (i) { sel.value = String(i); showCategory(i); },
    showSweepMetric: showSweepMetric,
    drawTile: function (canvas) { return drawTile(canvas, false); },
  };
})();
