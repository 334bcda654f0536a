// JSON.stringify of a short string against a kept quoted form looked up by the string.
const ids = Array.from({ length: 400 }, (_, i) => `${i.toString(16).padStart(8, '0')}-1111-2222-3333-444455556666`);
const fresh = () => ids.map((s) => (' ' + s).slice(1)); // new strings each round, as rows from SQLite
const quoted = new Map();
const quote = (s) => { let t = quoted.get(s); if (t === undefined) { t = JSON.stringify(s); quoted.set(s, t); } return t; };
for (const [name, f] of [['JSON.stringify', (s) => JSON.stringify(s)], ['kept quote', quote], ['concat', (s) => '"' + s + '"']]) {
  let sink = 0; const R = 3000;
  for (let w = 0; w < 2; w++) {
    const c0 = process.cpuUsage();
    for (let r = 0; r < R; r++) { const xs = fresh(); for (const s of xs) sink += f(s).length; }
    const c = process.cpuUsage(c0);
    if (w === 1) console.log(JSON.stringify({ name, ns_per_call: Math.round(((c.user + c.system) * 1000) / (R * ids.length)), sink }));
  }
}
