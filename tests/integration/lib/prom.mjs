// prom.mjs: a strict parser of the Prometheus text exposition format (0.0.4), for tests.
// Throws on anything a scraper would reject or that breaks the naming conventions we follow
// (https://prometheus.io/docs/practices/naming/, checked unless { conventions: false }):
//   - lines: no CR, no trailing blank, the text ends with a newline;
//   - names: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and not
//     reserved (__*), label values quoted with only \\ \" \n escapes, no duplicate label;
//   - metadata: # HELP (non-empty, only \\ and \n escapes) and # TYPE (a known type) once per
//     family, both before the family's first sample; a family's lines are contiguous;
//   - samples: the name is the family's (histograms: _bucket/_sum/_count), values parse,
//     no duplicate series;
//   - histograms: every bucket has le, _sum/_count have none, le strictly increasing, counts
//     cumulative, non-negative integers, the last le is +Inf and equals _count;
//   - counters: non-negative, not NaN;
//   - conventions: counters end in _total, other families do not; base units only (no
//     _milliseconds, _microseconds, _kilobytes, ...).
// Returns Map family -> { help, type, samples: [{ name, labels, value }] }.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NON_BASE_UNITS = /_(milliseconds|microseconds|nanoseconds|minutes|hours|days|ms|us|ns|kilobytes|megabytes|gigabytes|kb|mb|gb|kib|mib|gib|percent)(_total|_bucket|_sum|_count)?$/;

function parseValue(s, line) {
  if (/^[+]?Inf$/i.test(s)) return Infinity;
  if (/^-Inf$/i.test(s)) return -Infinity;
  if (/^NaN$/i.test(s)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function checkHelpEscapes(text, line) {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      const n = text[++i];
      if (n !== '\\' && n !== 'n') throw new Error(`bad escape in HELP: ${line}`);
    }
  }
}

function parseLabels(s, line) {
  const labels = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = s.slice(i, eq);
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`bad label name "${name}" in: ${line}`);
    if (s[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let j = eq + 2;
    let v = '';
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const n = s[++j];
        if (n === '\\') v += '\\'; else if (n === '"') v += '"'; else if (n === 'n') v += '\n';
        else throw new Error(`bad escape in label value in: ${line}`);
      } else {
        v += s[j];
      }
    }
    if (s[j] !== '"') throw new Error(`unterminated label value in: ${line}`);
    if (name in labels) throw new Error(`duplicate label "${name}" in: ${line}`);
    labels[name] = v;
    j++;
    if (j < s.length) {
      if (s[j] !== ',') throw new Error(`expected , between labels in: ${line}`);
      j++;
    }
    i = j;
  }
  return labels;
}

// The family a sample name belongs to, given the families declared so far.
function familyOf(name, families) {
  const f = families.get(name);
  if (f && f.type !== 'histogram' && f.type !== 'summary') return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const h = families.get(base);
      if (h && (h.type === 'histogram' || (h.type === 'summary' && suffix !== '_bucket'))) return base;
    }
  }
  if (f && f.type === 'summary') return name;   // the quantile series
  return null;
}

// Splits a sample line: name, optional {labels} (a '}' inside a quoted value is not the end),
// value, optional timestamp.
function splitSample(line) {
  const m = line.match(/^([^{\s]+)/);
  if (!m) return null;
  const name = m[1];
  let rest = line.slice(name.length);
  let labelText = '';
  if (rest.startsWith('{')) {
    let j = 1;
    let quoted = false;
    for (; j < rest.length; j++) {
      if (quoted && rest[j] === '\\') { j++; continue; }
      if (rest[j] === '"') quoted = !quoted;
      else if (!quoted && rest[j] === '}') break;
    }
    if (j >= rest.length) return null;
    labelText = rest.slice(1, j);
    rest = rest.slice(j + 1);
  }
  const v = rest.match(/^ (\S+)( -?\d+)?$/);
  if (!v) return null;
  return { name, labelText, valueText: v[1] };
}

export function parsePrometheus(text, { conventions = true } = {}) {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map();
  const closed = new Set();        // families whose block has ended
  let current = null;
  const enter = (fam) => {
    if (fam === current) return;
    if (closed.has(fam)) throw new Error(`lines of ${fam} are not contiguous`);
    if (current !== null) closed.add(current);
    current = fam;
  };
  const seen = new Set();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.includes('\r')) throw new Error(`carriage return in: ${JSON.stringify(line)}`);
    if (line === '') continue;
    let m;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      if ((m = line.match(/^# HELP (\S+) (.*)$/))) {
        if (!NAME.test(m[1])) throw new Error(`bad metric name in: ${line}`);
        enter(m[1]);
        const f = families.get(m[1]) || { help: null, type: null, samples: [] };
        if (f.help !== null) throw new Error(`HELP twice for ${m[1]}`);
        if (f.samples.length) throw new Error(`HELP after samples for ${m[1]}`);
        if (m[2].trim() === '') throw new Error(`empty HELP for ${m[1]}`);
        checkHelpEscapes(m[2], line);
        f.help = m[2];
        families.set(m[1], f);
        continue;
      }
      if ((m = line.match(/^# TYPE (\S+) (\S+)$/))) {
        if (!NAME.test(m[1])) throw new Error(`bad metric name in: ${line}`);
        if (!TYPES.has(m[2])) throw new Error(`bad type in: ${line}`);
        enter(m[1]);
        const f = families.get(m[1]) || { help: null, type: null, samples: [] };
        if (f.type !== null) throw new Error(`TYPE twice for ${m[1]}`);
        if (f.samples.length) throw new Error(`TYPE after samples for ${m[1]}`);
        f.type = m[2];
        families.set(m[1], f);
        continue;
      }
      throw new Error(`malformed metadata line: ${line}`);
    }
    if (line.startsWith('#')) continue;                     // other comments are allowed
    const sm = splitSample(line);
    if (!sm) throw new Error(`unparsable sample: ${line}`);
    const { name, labelText, valueText } = sm;
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    const fam = familyOf(name, families);
    if (!fam) throw new Error(`sample before its HELP/TYPE: ${line}`);
    enter(fam);
    const f = families.get(fam);
    if (f.help === null || f.type === null) throw new Error(`${fam} lacks HELP or TYPE before: ${line}`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    const value = parseValue(valueText, line);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`counter below 0 or NaN: ${line}`);
    f.samples.push({ name, labels, value });
  }
  for (const [name, f] of families) {
    if (f.type === null || f.help === null) throw new Error(`${name} lacks HELP or TYPE`);
    if (f.type === 'histogram') checkHistogram(name, f);
    if (conventions) checkConventions(name, f);
  }
  return families;
}

function checkConventions(name, f) {
  if (f.type === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
  if (f.type !== 'counter' && name.endsWith('_total')) throw new Error(`${f.type} ${name} must not end in _total`);
  if (NON_BASE_UNITS.test(name)) throw new Error(`${name}: use base units (seconds, bytes, ratios)`);
}

function checkHistogram(name, f) {
  const groups = new Map();        // the labels other than le -> { buckets, sum, count }
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (!groups.has(key)) groups.set(key, { buckets: [], sum: undefined, count: undefined });
    const g = groups.get(key);
    if (s.name === `${name}_bucket`) {
      if (le === undefined) throw new Error(`${name}_bucket without le`);
      g.buckets.push({ le: parseValue(le, `${name} le="${le}"`), raw: le, value: s.value });
    } else {
      if (le !== undefined) throw new Error(`${s.name} must not have an le label`);
      if (s.name === `${name}_sum`) g.sum = s.value; else g.count = s.value;
    }
  }
  if (!groups.size) throw new Error(`${name}: histogram without samples`);
  for (const g of groups.values()) {
    if (!g.buckets.length || g.sum === undefined || g.count === undefined) {
      throw new Error(`${name}: histogram needs _bucket, _sum, _count`);
    }
    let prevLe = -Infinity;
    let prev = 0;
    for (const b of g.buckets) {
      if (!(b.le > prevLe)) throw new Error(`${name}: le not increasing at ${b.raw}`);
      if (!Number.isInteger(b.value) || b.value < 0) throw new Error(`${name}: bucket count ${b.value} at le=${b.raw}`);
      if (b.value < prev) throw new Error(`${name}: buckets not cumulative at le=${b.raw}`);
      prevLe = b.le;
      prev = b.value;
    }
    if (prevLe !== Infinity) throw new Error(`${name}: last bucket must be le="+Inf"`);
    if (prev !== g.count) throw new Error(`${name}: +Inf bucket ${prev} != _count ${g.count}`);
  }
}

// The value of one series (labels must match exactly), or undefined.
export function sampleValue(families, name, labels = {}) {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && JSON.stringify(Object.entries(s.labels).sort())
          === JSON.stringify(Object.entries(labels).sort())) return s.value;
    }
  }
  return undefined;
}
