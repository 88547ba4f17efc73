// Text from a user or a vocabulary is data: characters that could act on the page (bidi controls
// such as U+202E, zero-width characters, control characters) are shown by a visible name, and
// every label is isolated (FSI … PDI) so that no character can reorder the page's own text.
// Shared by the explorer (explorer_page.script puts it in the explorer's scope) and the lab page.
var BPTT_CHAR_NAMES = {
  "\u061C": "ALM", "\u200E": "LRM", "\u200F": "RLM", "\u202A": "LRE", "\u202B": "RLE",
  "\u202C": "PDF", "\u202D": "LRO", "\u202E": "RLO", "\u2066": "LRI", "\u2067": "RLI",
  "\u2068": "FSI", "\u2069": "PDI", "\u200B": "ZWSP", "\u200C": "ZWNJ", "\u200D": "ZWJ",
  "\u2060": "WJ", "\uFEFF": "ZWNBSP", "\u00AD": "SHY", "\u180E": "MVS", "\u034F": "CGJ",
  "\u2028": "LSEP", "\u2029": "PSEP", "\u00A0": "NBSP", "\u3164": "HF", "\u115F": "HCF"
};
/** One character (a code point) as shown: its name for an invisible or direction-changing one. */
function visibleChar(c) {
  if (Object.prototype.hasOwnProperty.call(BPTT_CHAR_NAMES, c)) return "⟨" + BPTT_CHAR_NAMES[c] + "⟩";
  var cp = c.codePointAt(0);
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x2061 && cp <= 0x206F) ||
      (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE007F) || (cp >= 0xFE00 && cp <= 0xFE0F)) {
    return "⟨U+" + cp.toString(16).toUpperCase().padStart(4, "0") + "⟩";
  }
  return c;
}
var BPTT_RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFE]|[\uD802-\uD803\uD83A-\uD83B][\uDC00-\uDFFF]/;
/** A label (one character) as shown: by name, or isolated (FSI … PDI) when right-to-left. */
function visibleLabel(c) { var v = visibleChar(c); return BPTT_RTL.test(v) ? "\u2068" + v + "\u2069" : v; }
/** A whole string as shown, code point by code point, isolated from the text around it. */
function visibleText(s) { return "\u2068" + Array.from(String(s)).map(visibleChar).join("") + "\u2069"; }
