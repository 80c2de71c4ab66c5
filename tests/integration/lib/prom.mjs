// prom.mjs: a strict parser of the Prometheus text exposition format (0.0.4), for tests.
// Throws on anything a scraper would reject or that breaks our conventions: a sample without
// # HELP and # TYPE before it, a TYPE declared twice, invalid metric or label names, bad label
// escaping, unparsable values, duplicate series, histogram buckets that are not cumulative or
// whose +Inf bucket differs from _count. Returns Map family -> { help, type, samples: [...] }.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s, line) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
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
      } else if (s[j] === '\n') {
        throw new Error(`raw newline in label value in: ${line}`);
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

function familyOf(name, families) {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === 'histogram' || f.type === 'summary')) return base;
    }
  }
  return null;
}

export function parsePrometheus(text) {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map();
  const seen = new Set();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = line.match(/^# HELP (\S+) (.*)$/))) {
      if (!NAME.test(m[1])) throw new Error(`bad metric name in: ${line}`);
      const f = families.get(m[1]) || { help: null, type: null, samples: [] };
      if (f.help !== null) throw new Error(`HELP twice for ${m[1]}`);
      if (m[2].trim() === '') throw new Error(`empty HELP for ${m[1]}`);
      f.help = m[2];
      families.set(m[1], f);
      continue;
    }
    if ((m = line.match(/^# TYPE (\S+) (\S+)$/))) {
      if (!NAME.test(m[1])) throw new Error(`bad metric name in: ${line}`);
      if (!TYPES.has(m[2])) throw new Error(`bad type in: ${line}`);
      const f = families.get(m[1]) || { help: null, type: null, samples: [] };
      if (f.type !== null) throw new Error(`TYPE twice for ${m[1]}`);
      if (f.samples.length) throw new Error(`TYPE after samples for ${m[1]}`);
      f.type = m[2];
      families.set(m[1], f);
      continue;
    }
    if (line.startsWith('#')) continue;                     // other comments are allowed
    m = line.match(/^([^{\s]+)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/);
    if (!m) throw new Error(`unparsable sample: ${line}`);
    const [, name, , labelText, valueText] = m;
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    const fam = familyOf(name, families);
    if (!fam) throw new Error(`sample before its HELP/TYPE: ${line}`);
    const f = families.get(fam);
    if (f.help === null || f.type === null) throw new Error(`${fam} lacks HELP or TYPE`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    f.samples.push({ name, labels, value: parseValue(valueText, line) });
  }
  for (const [name, f] of families) {
    if (f.type === null || f.help === null) throw new Error(`${name} lacks HELP or TYPE`);
    if (f.type === 'histogram') checkHistogram(name, f);
  }
  return families;
}

function checkHistogram(name, f) {
  const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
  const count = f.samples.find((s) => s.name === `${name}_count`);
  const sum = f.samples.find((s) => s.name === `${name}_sum`);
  if (!buckets.length || !count || !sum) throw new Error(`${name}: histogram needs _bucket, _sum, _count`);
  let prevLe = -Infinity;
  let prev = 0;
  for (const b of buckets) {
    if (!('le' in b.labels)) throw new Error(`${name}_bucket without le`);
    const le = parseValue(b.labels.le, name);
    if (!(le > prevLe)) throw new Error(`${name}: le not increasing at ${b.labels.le}`);
    if (b.value < prev) throw new Error(`${name}: buckets not cumulative at le=${b.labels.le}`);
    prevLe = le;
    prev = b.value;
  }
  if (prevLe !== Infinity) throw new Error(`${name}: last bucket must be le="+Inf"`);
  if (prev !== count.value) throw new Error(`${name}: +Inf bucket ${prev} != _count ${count.value}`);
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
