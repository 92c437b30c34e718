// Small line charts as inline SVG: axes with units, a labelled limit line, a text legend. No library.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 320, H = 170, L = 46, R = 8, T = 18, B = 26;

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function fmt(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1000) return (v / 1000).toFixed(1) + "k";
    if (a >= 10) return v.toFixed(0);
    if (a >= 1) return v.toFixed(1);
    return v.toPrecision(2);
  }
  function clock(iso) { return iso ? iso.slice(11, 19) : ""; }

  // opts: {times: [iso], series: [{label, values}], unit, limit: {value, label} | null, yMin}
  function lineChart(svg, opts) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    var values = [];
    opts.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && v !== undefined) values.push(v); }); });
    if (opts.limit && opts.limit.value !== null && opts.limit.value !== undefined) values.push(opts.limit.value);
    var n = opts.times.length;
    if (!values.length || n === 0) {
      svg.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no data yet"));
      return;
    }
    var lo = opts.yMin !== undefined ? Math.min(opts.yMin, Math.min.apply(null, values)) : Math.min.apply(null, values);
    var hi = Math.max.apply(null, values);
    if (hi === lo) { hi = hi + (Math.abs(hi) || 1) * 0.1; lo = lo - (Math.abs(lo) || 1) * 0.1; }
    var pad = (hi - lo) * 0.08; hi += pad; if (opts.yMin === undefined) lo -= pad;
    function x(i) { return L + (n === 1 ? (W - L - R) / 2 : i * (W - L - R) / (n - 1)); }
    function y(v) { return T + (H - T - B) * (1 - (v - lo) / (hi - lo)); }
    for (var k = 0; k <= 3; k++) {
      var v = lo + (hi - lo) * k / 3, yy = y(v);
      svg.appendChild(el("line", {x1: L, x2: W - R, y1: yy, y2: yy, "class": "grid"}));
      svg.appendChild(el("text", {x: L - 4, y: yy + 3, "text-anchor": "end"}, fmt(v)));
    }
    svg.appendChild(el("line", {x1: L, x2: L, y1: T, y2: H - B, "class": "axis"}));
    svg.appendChild(el("line", {x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis"}));
    svg.appendChild(el("text", {x: 4, y: 11}, opts.unit));
    svg.appendChild(el("text", {x: L, y: H - 8}, clock(opts.times[0])));
    svg.appendChild(el("text", {x: W - R, y: H - 8, "text-anchor": "end"}, clock(opts.times[n - 1])));
    svg.appendChild(el("text", {x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle"}, "time (UTC)"));
    if (opts.limit && opts.limit.value !== null && opts.limit.value !== undefined) {
      var ly = y(opts.limit.value);
      svg.appendChild(el("line", {x1: L, x2: W - R, y1: ly, y2: ly, "class": "limit"}));
      svg.appendChild(el("text", {x: W - R - 2, y: ly - 3, "text-anchor": "end"}, opts.limit.label + " " + fmt(opts.limit.value)));
    }
    var legendX = Math.max(L + 30, 4 + opts.unit.length * 6 + 14);
    opts.series.forEach(function (s, si) {
      var d = "", pen = "M";
      s.values.forEach(function (v, i) {
        if (v === null || v === undefined) { pen = "M"; return; }
        d += pen + x(i).toFixed(1) + " " + y(v).toFixed(1) + " "; pen = "L";
      });
      if (d) svg.appendChild(el("path", {d: d, "class": "s" + si}));
      if (opts.series.length > 1 || s.label) {
        svg.appendChild(el("line", {x1: legendX, x2: legendX + 14, y1: 8, y2: 8, "class": "s" + si}));
        svg.appendChild(el("text", {x: legendX + 17, y: 11}, s.label));
        legendX += 24 + s.label.length * 6;
      }
    });
  }
  window.roheCharts = {lineChart: lineChart};
})();
