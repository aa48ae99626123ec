/* The explorers of lessons 05 and 07: one implementation for JupyterLab and the course website.
 *
 * companion.explorers displays each explorer as <div class="course-explorer" data-kind="conv|pool"
 * data-values=… data-limits=… data-torch=…> holding a picture and the printed report, followed by
 * this script. The script gives the box its sliders; every move redraws the sliding window on a
 * canvas and works the output-size formula out in the page, with no kernel. The rules are those of
 * companion.shapes (conv_output_size, pool_output_size), written again here; `make test-site`
 * compares the whole report with companion's on every slider setting. torch's own result for
 * every setting the sliders reach was computed by torch when the cell ran (data-torch), so the
 * report prints it next to the formula in JupyterLab and on the website alike.
 */
(function () {
  "use strict";
  const script = document.currentScript;  // the script right after its explorer's box

  if (!window.courseExplorer) {
    const BLUE = "#4c8bd6", PAD = "#e4e4e4", DROP = "#f4b6b6", GRID = "#9a9a9a", LINE = "#1f4e8c";
    const FONT = '"Course Sans CJK", "Noto Sans CJK SC", sans-serif';
    const ORDER = ["size", "kernel_size", "stride", "padding", "dilation"];

    /** companion.shapes.conv_output_size: {out, reason} (out null when refused). */
    function convOutputSize(n, k, s, p, d) {
      const span = d * (k - 1) + 1;
      if (span > n + 2 * p) {
        return {out: null, reason: `kernel_size=${k}（dilation=${d}，跨度 ${span}）大于填充后的输入 ` +
          `${n}+2*${p}=${n + 2 * p}；规则是 dilation*(kernel_size-1)+1 <= size+2*padding`};
      }
      return {out: Math.floor((n + 2 * p - span) / s) + 1, reason: ""};
    }

    /** companion.shapes.pool_output_size: {out, reason}; a window may not start in the right padding. */
    function poolOutputSize(n, k, s, p, d, ceil) {
      if (2 * p > k) return {out: null, reason: `padding=${p} 超过了 kernel_size=${k} 的一半（池化要求 2*padding <= kernel_size）`};
      const span = d * (k - 1) + 1, num = n + 2 * p - span;
      let out = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
      if (ceil && (out - 1) * s >= n + p) out -= 1;
      if (out < 1) {
        return {out: null, reason: `kernel_size=${k}（dilation=${d}，跨度 ${span}）大于填充后的输入 ` +
          `${n}+2*${p}=${n + 2 * p}` + (ceil ? "，ceil_mode 也放不下一个窗口" : "")};
      }
      return {out, reason: ""};
    }

    /** The output side length (or null) and companion's reason for refusing, for an explorer's values. */
    function outputSize(kind, v) {
      return kind === "pool"
        ? poolOutputSize(v.size, v.kernel_size, v.stride, v.padding, v.dilation, !!v.ceil_mode)
        : convOutputSize(v.size, v.kernel_size, v.stride, v.padding, v.dilation);
    }

    /** The formula worked out, as companion.explorers prints it. */
    function formula(kind, v) {
      const ceil = kind === "pool" && !!v.ceil_mode, [l, r] = ceil ? ["⌈", "⌉"] : ["⌊", "⌋"];
      const {size: n, kernel_size: k, stride: s, padding: p, dilation: d} = v;
      const num = n + 2 * p - d * (k - 1) - 1;
      const head = `${l}(${n} + 2·${p} − ${d}·(${k}−1) − 1)/${s}${r} + 1`;
      if (kind === "pool" && 2 * p > k) return `${head}：padding=${p} 超过了 kernel_size=${k} 的一半，池化不允许`;
      if (num < 0) {
        return `${head}：分子 ${num} < 0，核的跨度 ${d * (k - 1) + 1} 大于填充后的边长 ${n + 2 * p}`;
      }
      const steps = ceil ? Math.ceil(num / s) : Math.floor(num / s);
      let text = `${head} = ${l}${num}/${s}${r} + 1 = ${steps + 1}`;
      if (num % s) text += ceil ? "（除不尽，向上取整）" : "（除不尽，向下取整）";
      return text;
    }

    /** The report's lines, as companion.explorers prints them: the call, the formula, companion's answer
     * (or refusal), torch's answer from ``torch`` (data-torch), and a warning where the two disagree. */
    function report(kind, v, torch) {
      const {out, reason} = outputSize(kind, v), pool = kind === "pool";
      const call = pool
        ? `F.max_pool2d(x, kernel_size=${v.kernel_size}, stride=${v.stride}, padding=${v.padding}, ` +
          `dilation=${v.dilation}, ceil_mode=${v.ceil_mode ? "True" : "False"})`
        : `nn.Conv2d(1, 1, kernel_size=${v.kernel_size}, stride=${v.stride}, padding=${v.padding}, ` +
          `dilation=${v.dilation})`;
      const name = pool ? "companion.pool_output_size" : "companion.conv_output_size";
      const lines = [`${call}，输入 1×1×${v.size}×${v.size}`, "公式：" + formula(kind, v)];
      const num = v.size + 2 * v.padding - v.dilation * (v.kernel_size - 1) - 1;
      if (pool && v.ceil_mode && num >= 0 && 2 * v.padding <= v.kernel_size && out !== null &&
          out === Math.ceil(num / v.stride)) {
        lines.push(`最后一个窗口会从右侧的填充里开始，torch 不要它：${out + 1} − 1 = ${out}`);
      }
      const ours = out === null ? "拒绝 — ValueError: " + reason : String(out);
      lines.push(`${name} → ${ours}`);
      const theirs = torch ? torch.results[torch.index[settingKey(kind, v)]] : undefined;
      if (theirs === undefined) {
        lines.push(`${pool ? "F.max_pool2d" : "nn.Conv2d"} 的输出形状：没有 torch 对这一设置的结果`);
        return lines;
      }
      lines.push(`${pool ? "F.max_pool2d 的输出形状     →" : "nn.Conv2d 的输出形状      →"} ${theirs}`);
      const same = ours.startsWith("拒绝") ? theirs.startsWith("拒绝") : theirs === `(1, 1, ${out}, ${out})`;
      if (!same) lines.push("注意：companion 与 torch 的结论不一致");
      return lines;
    }

    /** The key of a setting in data-torch: size, kernel, stride, padding, dilation (and ceil_mode as 0/1). */
    function settingKey(kind, v) {
      const key = [v.size, v.kernel_size, v.stride, v.padding, v.dilation].join(",");
      return kind === "pool" ? `${key},${v.ceil_mode ? 1 : 0}` : key;
    }

    /** The input cells (row, col of the unpadded input) that output cell (i, j) reads. */
    function windowCells(i, j, k, s, p, d) {
      const cells = [];
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) cells.push([i * s - p + a * d, j * s - p + b * d]);
      return cells;
    }

    function drawFrame(ctx, x0, y0, cell, v, out, pos, dropped) {
      const {size: n, kernel_size: k, stride: s, padding: p, dilation: d} = v;
      const lo = -p, hi = n + p - 1;
      const at = (r, c) => [x0 + (c - lo) * cell, y0 + (r - lo) * cell];
      const square = (r, c, fill, stroke) => {
        const [x, y] = at(r, c);
        ctx.fillStyle = fill; ctx.fillRect(x, y, cell, cell);
        ctx.strokeStyle = stroke || GRID; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      };
      for (let r = lo; r <= hi; r++) {
        for (let c = lo; c <= hi; c++) {
          const inside = r >= 0 && r < n && c >= 0 && c < n;
          square(r, c, !inside ? PAD : dropped.has(`${r},${c}`) ? DROP : "#ffffff");
        }
      }
      const taps = windowCells(pos ? pos[0] : 0, pos ? pos[1] : 0, k, s, p, d);
      for (const [r, c] of taps) {
        const inPadded = r >= lo && r <= hi && c >= lo && c <= hi;
        square(r, c, inPadded ? "rgba(76, 139, 214, 0.75)" : "#ffffff", inPadded ? GRID : BLUE);
      }
      const [r0, c0] = taps[0], [r1, c1] = taps[taps.length - 1];
      const [sx, sy] = at(r0, c0);
      ctx.strokeStyle = LINE; ctx.lineWidth = 2;
      ctx.strokeRect(sx, sy, (c1 - c0 + 1) * cell, (r1 - r0 + 1) * cell);
      ctx.fillStyle = out === null ? "crimson" : "#222222";
      ctx.font = `12px ${FONT}`; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
      ctx.fillText(out === null ? "没有合法位置" : `输出 [${pos[0]}, ${pos[1]}]`, x0, y0 - 4);
      if (out === null) return;
      const ox = x0 + (Math.max(hi, c1) - lo + 2) * cell;
      for (let i = 0; i < out; i++) {
        for (let j = 0; j < out; j++) {
          const x = ox + j * cell, y = y0 + i * cell;
          ctx.fillStyle = i === pos[0] && j === pos[1] ? BLUE : "#ffffff"; ctx.fillRect(x, y, cell, cell);
          ctx.strokeStyle = GRID; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
        }
      }
      ctx.strokeStyle = LINE; ctx.lineWidth = 1.5; ctx.beginPath();
      ctx.moveTo(sx + (c1 - c0 + 1) * cell / 2, sy + (r1 - r0 + 1) * cell / 2);
      ctx.lineTo(ox + pos[1] * cell, y0 + pos[0] * cell + cell / 2); ctx.stroke();
    }

    /** Draw the sliding window for values v on canvas: the first two steps and the last, as companion does. */
    function draw(canvas, kind, v) {
      const {out} = outputSize(kind, v);
      const {size: n, kernel_size: k, stride: s, padding: p, dilation: d} = v;
      const padded = n + 2 * p, span = d * (k - 1) + 1;
      let positions = [null], dropped = new Set();
      if (out !== null) {
        const seen = new Set(), keys = [];
        for (let i = 0; i < out; i++) for (let j = 0; j < out; j++) {
          for (const [r, c] of windowCells(i, j, k, s, p, d)) seen.add(`${r},${c}`);
        }
        for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (!seen.has(`${r},${c}`)) dropped.add(`${r},${c}`);
        positions = [];
        for (const pos of [[0, 0], [0, Math.min(1, out - 1)], [out - 1, out - 1]]) {
          if (!keys.includes(pos.join())) { keys.push(pos.join()); positions.push(pos); }
        }
      }
      const width = Math.max(padded, span) + (out === null ? 0 : 2 + out), height = Math.max(padded, span);
      const cell = Math.max(6, Math.min(18, Math.floor(700 / (positions.length * (width + 1)))));
      const frameW = (width + 1) * cell, top = 44;
      canvas.width = positions.length * frameW + 10;
      canvas.height = top + height * cell + 12;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#222222"; ctx.font = `13px ${FONT}`; ctx.textAlign = "left"; ctx.textBaseline = "top";
      const op = kind === "pool" ? "max_pool2d" : "conv2d";
      const extra = kind === "pool" ? `, ceil_mode=${v.ceil_mode ? "True" : "False"}` : "";
      ctx.fillText(`${op}: ${n}×${n}, kernel_size=${k}, stride=${s}, padding=${p}, dilation=${d}${extra} → ` +
                   (out === null ? "没有输出" : `${out}×${out}`), 4, 2);
      positions.forEach((pos, f) => drawFrame(ctx, 4 + f * frameW, top, cell, v, out, pos, dropped));
    }

    /** Give one explorer box its sliders, canvas and report (once). */
    function mount(box) {
      if (box.dataset.mounted) return;
      box.dataset.mounted = "1";
      const kind = box.dataset.kind, values = JSON.parse(box.dataset.values), limits = JSON.parse(box.dataset.limits);
      const torch = box.dataset.torch ? JSON.parse(box.dataset.torch) : null;
      const controls = document.createElement("div"), canvas = document.createElement("canvas");
      const text = box.querySelector(".course-explorer-report") || document.createElement("pre");
      controls.className = "course-explorer-controls";
      // the layout travels with the script: JupyterLab has no stylesheet of the course's
      Object.assign(controls.style, {display: "flex", flexWrap: "wrap", gap: "0.4em 1.2em", marginBottom: "0.5em",
                                     fontFamily: "monospace", fontSize: "0.85em"});
      Object.assign(canvas.style, {display: "block", maxWidth: "100%", border: "1px solid #ddd"});
      // JupyterLab's shortcuts (an arrow key moves between cells) stop here: the keys move the slider
      controls.setAttribute("data-lm-suppress-shortcuts", "true");
      canvas.className = "course-explorer-canvas";
      text.className = "course-explorer-report";
      const update = () => {
        draw(canvas, kind, values);
        text.textContent = report(kind, values, torch).join("\n");
        box.dataset.size = String(outputSize(kind, values).out);
      };
      for (const name of ORDER) {
        const label = document.createElement("label"), input = document.createElement("input");
        const shown = document.createElement("output");
        input.type = "range"; input.name = name; input.min = limits[name][0]; input.max = limits[name][1];
        input.step = 1; input.value = values[name]; shown.textContent = values[name];
        Object.assign(input.style, {width: "8em", verticalAlign: "middle"});
        label.style.whiteSpace = "nowrap";
        input.addEventListener("input", () => {
          values[name] = Number(input.value); shown.textContent = input.value; update();
        });
        label.append(name + " ", input, " ", shown);
        controls.append(label);
      }
      if (kind === "pool") {
        const label = document.createElement("label"), input = document.createElement("input");
        input.type = "checkbox"; input.name = "ceil_mode"; input.checked = !!values.ceil_mode;
        input.addEventListener("change", () => { values.ceil_mode = input.checked; update(); });
        label.append(input, " ceil_mode");
        controls.append(label);
      }
      const note = document.createElement("p");
      note.className = "course-explorer-note";
      Object.assign(note.style, {margin: "0 0 0.4em", fontSize: "0.85em"});
      note.textContent = "拖动滑块：窗口图、公式和输出尺寸在浏览器里重算，不需要内核；torch 的结果是运行这一格时，" +
        "torch 对滑块能到的每一种设置算好的。";
      const stored = box.querySelector("img");
      if (stored) stored.remove();  // the stored picture stands in for a page without scripts only
      box.prepend(note, controls, canvas);
      box.append(text);
      update();
      if (document.fonts) document.fonts.ready.then(update);  // the canvas text in the course's font
    }

    function mountAll() {
      document.querySelectorAll(".course-explorer[data-kind]").forEach(b => window.courseExplorer.mount(b));
    }

    window.courseExplorer = {convOutputSize, poolOutputSize, outputSize, formula, report, settingKey, windowCells, draw,
                             mount, mountAll};
  }

  // this script's own box first (JupyterLab runs an output's script when the output is shown), then any other
  const own = script && script.parentElement ? script.parentElement.querySelectorAll(".course-explorer[data-kind]") : [];
  own.forEach(b => window.courseExplorer.mount(b));
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", window.courseExplorer.mountAll);
  else window.courseExplorer.mountAll();
})();
