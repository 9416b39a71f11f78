/* What the hotline's place lookup shows for one geocoder answer: the candidate places (name,
 * kind, score, grid chain, unit, staff), the parts the parser read, the did-you-mean names and
 * the note (outside the county, ...). Strings: #hotline-strings (queue.html). Choosing is the
 * caller's: `onChoose(i)` with the candidate's index. */
import { el } from "../core/format.js";
import { fmt, strings } from "../core/i18n.js";
import { config } from "./page.js";

export const H = strings("hotline-strings");

// The parsed number parts in reading order: [key in the answer, string name].
const NUMBER_PARTS = [["group", "group"], ["house", "house"], ["building", "building"], ["unit", "unitNo"],
                      ["floor", "floor"], ["room", "room"]];

/** Sure enough to be taken without asking: the gazetteer's own threshold (config.geocode.sure). */
export function isSure(p) { return p.score >= config.geocode.sure; }

/** "镇街 › 村/社区 › 网格", a blind spot or a point outside the grids said so. */
export function chain(p) {
  const names = (p.grids || []).slice().sort((a, b) => a.level - b.level).map((g) => g.name);
  if (p.status === "outside" || !names.length) return H.outside;
  const text = names.join(" › ");
  return p.status === "blind_spot" ? text + "（" + H.blindSpot + "）" : text;
}

function withPhone(name, phone) { return phone ? name + " " + phone : name; }

/** The listbox option for candidate `i`. */
export function placeOption(p, i, onChoose) {
  const li = el("li", "place");
  li.id = "h-place-" + i;
  li.setAttribute("role", "option");
  li.dataset.index = String(i);
  li.dataset.name = p.name;
  li.dataset.score = String(p.score);
  li.dataset.sure = isSure(p) ? "1" : "0";
  const top = el("div", "place-top");
  top.appendChild(el("b", "place-name", p.name));
  top.appendChild(el("span", "place-kind", p.kind_label || p.kind));
  top.appendChild(el("span", "place-score " + (isSure(p) ? "sure" : "unsure"),
    (isSure(p) ? H.sure : H.unsure) + " · " + fmt(H.score, { p: Math.round(p.score * 100) + "%" })));
  li.appendChild(top);
  li.appendChild(el("div", "place-chain", chain(p)));
  if (p.unit) li.appendChild(el("div", "place-unit", H.unit + "：" + withPhone(p.unit.name, p.unit.phone)));
  if (p.staff && p.staff.length) {
    li.appendChild(el("div", "place-staff", H.staff + "：" + p.staff.map(
      (s) => withPhone((s.role_label ? s.role_label + " " : "") + s.name, s.phone)).join("、")));
  }
  // mousedown would move the focus off the field before the click lands; keep it typing-ready.
  li.addEventListener("mousedown", (e) => e.preventDefault());
  li.addEventListener("click", () => onChoose(i));
  return li;
}

function fact(part, name, value) {
  const li = el("li", "fact fact-" + part);
  li.dataset.part = part;
  li.dataset.value = String(value);
  li.appendChild(el("span", "fact-name", name));
  li.appendChild(el("span", "fact-value", value));
  return li;
}

/** What the parser read from the text (administrative chain, name or crossing, numbers, ...). */
export function showParsed(node, parsed) {
  node.textContent = "";
  if (!parsed) { node.hidden = true; return; }
  if (parsed.admin && parsed.admin.length) {
    node.appendChild(fact("admin", H.admin, parsed.admin.map((a) => a.name).join(" › ")));
  }
  if (parsed.intersection && parsed.intersection.length) {
    node.appendChild(fact("intersection", H.crossing, parsed.intersection.join(" × ")));
  } else if (parsed.core) {
    node.appendChild(fact("core", H.core, parsed.core));
  }
  const number = parsed.number || {};
  NUMBER_PARTS.forEach(([part, name]) => {
    if (number[part] !== undefined && number[part] !== null) node.appendChild(fact(part, H[name], number[part]));
  });
  if (parsed.gate) node.appendChild(fact("gate", H.gate, parsed.gate));
  if (parsed.relative && parsed.relative.length) node.appendChild(fact("relative", H.relative, parsed.relative.join("、")));
  node.hidden = !node.firstChild;
}

/** "您是否要找：A、B": a name among the candidates is a button choosing it. */
export function showDidYouMean(node, names, places, onChoose) {
  node.textContent = "";
  if (!names || !names.length) { node.hidden = true; return; }
  node.appendChild(el("span", "dym-label", H.didYouMean));
  names.forEach((name, k) => {
    if (k) node.appendChild(document.createTextNode("、"));
    const i = places.findIndex((p) => p.name === name);
    if (i < 0) { node.appendChild(el("span", "dym-name", name)); return; }
    const b = el("button", "link dym-name", name);
    b.type = "button";
    b.addEventListener("click", () => onChoose(i));
    node.appendChild(b);
  });
  node.hidden = false;
}

/** The answer's note, flagged 县域外 when the text names a place outside the county. */
export function showNote(node, answer) {
  node.textContent = "";
  node.classList.toggle("outside", !!answer.outside);
  if (answer.outside) node.appendChild(el("span", "flag flag-outside", H.outside));
  if (answer.note) node.appendChild(el("span", "note-text", answer.note));
  node.hidden = !node.firstChild;
}
