// One spoken sentence on the page: its text as written, its pronounced syllables built from the
// model's input symbols, and its attention alignment on a canvas, with a cursor at the decoder step
// being heard and the syllable that step attends to highlighted.

const INITIAL = [0x1100, 0x1112];
const VOWEL = [0x1161, 0x1175];
const FINAL = [0x11a8, 0x11c2];

// Canvas geometry: one row per input symbol, as many pixels per decoder step as fit a page width.
const ROW_PX = 14;
const LABEL_PX = 30;
const PLOT_PX = 720;
const MAX_STEP_PX = 12;

const SHOWN_LABELS = { " ": "␣", "<eos>": "끝" };

function jamoKind(label) {
  // "initial", "vowel" or "final" for a conjoining Hangul jamo; null for anything else.
  const code = label.length === 1 ? label.codePointAt(0) : -1;
  if (code >= INITIAL[0] && code <= INITIAL[1]) return "initial";
  if (code >= VOWEL[0] && code <= VOWEL[1]) return "vowel";
  if (code >= FINAL[0] && code <= FINAL[1]) return "final";
  return null;
}

export function syllables(labels) {
  // Groups the symbols into the units shown: a syllable starts at each initial consonant and takes
  // the vowel and final consonant after it; a space or punctuation mark is a unit of its own; a
  // special symbol such as "<eos>" belongs to none. Returns {units: [{text, syllable}], unitOf},
  // unitOf[symbol] being the unit's index or -1. Conjoining jamo compose under NFC.
  const groups = [];
  const unitOf = [];
  for (const label of labels) {
    const kind = jamoKind(label);
    const last = groups[groups.length - 1];
    if (kind === null && label.length > 1 && label.startsWith("<")) {
      unitOf.push(-1);
      continue;
    }
    if (kind === null || kind === "initial" || !last || !last.syllable) {
      groups.push({ labels: [label], syllable: kind !== null });
    } else {
      last.labels.push(label);
    }
    unitOf.push(groups.length - 1);
  }
  const units = groups.map((group) => ({ text: group.labels.join("").normalize("NFC"), syllable: group.syllable }));
  return { units, unitOf };
}

export function attendedSymbol(row) {
  // The input symbol a decoder step attends to most.
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

// Matplotlib's viridis at nine evenly spaced points: the colours of the server's alignment PNG.
const VIRIDIS = [
  [68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140],
  [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37],
];

function shade(weight) {
  // The colour of an attention weight on the PNG's fixed scale, 0 to 1 (so a flat, failed
  // attention looks faint here as it does there).
  const position = Math.min(1, Math.max(0, weight)) * (VIRIDIS.length - 1);
  const below = Math.min(VIRIDIS.length - 2, Math.floor(position));
  const fraction = position - below;
  return VIRIDIS[below].map((channel, i) => channel + fraction * (VIRIDIS[below + 1][i] - channel));
}

function drawAlignment(canvas, alignment, labels, stepPx) {
  // x = decoder step, y = input symbol (the first at the bottom, as in the server's PNG).
  const steps = alignment.length;
  const rows = labels.length;
  const matrix = new ImageData(Math.max(1, steps), Math.max(1, rows));
  alignment.forEach((row, step) => {
    row.forEach((weight, symbol) => {
      const offset = 4 * ((rows - 1 - symbol) * steps + step);
      matrix.data.set([...shade(weight), 255], offset);
    });
  });
  const cells = document.createElement("canvas");
  cells.width = matrix.width;
  cells.height = matrix.height;
  cells.getContext("2d").putImageData(matrix, 0, 0);

  canvas.width = LABEL_PX + steps * stepPx;
  canvas.height = rows * ROW_PX;
  const context = canvas.getContext("2d");
  context.fillStyle = "white";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.imageSmoothingEnabled = false;
  context.drawImage(cells, LABEL_PX, 0, steps * stepPx, rows * ROW_PX);
  context.fillStyle = "#3c4043";
  context.font = `${ROW_PX - 2}px sans-serif`;
  context.textBaseline = "middle";
  labels.forEach((label, symbol) => {
    context.fillText(SHOWN_LABELS[label] || label, 2, (rows - 1 - symbol + 0.5) * ROW_PX);
  });
}

export class SentenceView {
  // The DOM of one `sentence` event; `show(step)` puts the cursor on a decoder step (null: none).
  constructor(sentence) {
    this.sentence = sentence;
    const { units, unitOf } = syllables(sentence.labels);
    this.unitOf = unitOf;
    this.current = null;
    this.element = document.createElement("article");
    this.element.className = "sentence";
    this.element.dataset.index = sentence.index;

    const original = document.createElement("p");
    original.className = "original";
    original.textContent = sentence.text;
    this.spoken = document.createElement("p");
    this.spoken.className = "spoken";
    this.spoken.lang = "ko";
    this.spans = units.map((unit, index) => {
      const span = document.createElement("span");
      span.textContent = unit.text;
      span.className = unit.syllable ? "unit syllable" : "unit";
      span.dataset.unit = index;
      return span;
    });
    this.spoken.append(...this.spans);
    this.element.append(original, this.spoken);
    if (!sentence.attention_ok) {
      const warning = document.createElement("p");
      warning.className = "warning";
      warning.textContent = "어텐션 실패: 이 문장은 정렬이 끝까지 가지 못했습니다.";
      this.element.append(warning);
    }

    const steps = sentence.alignment.length;
    this.stepPx = Math.max(1, Math.min(MAX_STEP_PX, Math.floor(PLOT_PX / Math.max(1, steps))));
    const plot = document.createElement("div");
    plot.className = "plot";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "alignment";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `문장 ${sentence.index + 1}의 어텐션 정렬`);
    drawAlignment(this.canvas, sentence.alignment, sentence.labels, this.stepPx);
    this.cursor = document.createElement("div");
    this.cursor.className = "cursor";
    this.cursor.hidden = true;
    plot.append(this.canvas, this.cursor);
    this.element.append(plot);
  }

  show(step) {
    // Moves the cursor to `step` (clamped to the decoded steps) and highlights the unit it attends
    // to; returns {step, symbol, unit} (unit -1: the step attends to no shown unit), or null.
    const steps = this.sentence.alignment.length;
    if (step === null || steps === 0) {
      this.highlight(-1);
      this.cursor.hidden = true;
      return null;
    }
    const clamped = Math.min(Math.max(0, step), steps - 1);
    const symbol = attendedSymbol(this.sentence.alignment[clamped]);
    const unit = this.unitOf[symbol] ?? -1;
    this.highlight(unit);
    const x = LABEL_PX + (clamped + 0.5) * this.stepPx;
    this.cursor.style.left = `${(100 * x) / this.canvas.width}%`;
    this.cursor.hidden = false;
    return { step: clamped, symbol, unit };
  }

  highlight(unit) {
    if (unit === this.current) return;
    if (this.current !== null && this.current >= 0) this.spans[this.current].classList.remove("current");
    if (unit >= 0) this.spans[unit].classList.add("current");
    this.current = unit;
  }
}
