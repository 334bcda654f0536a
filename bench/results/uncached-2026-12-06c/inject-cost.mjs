// What light-my-request's inject does per response beyond the server's own work: each written
// chunk copied (Buffer.from), the chunks concatenated, the payload decoded to a string.
const sizes = [7000, 30000];
for (const n of sizes) {
  const page = Buffer.from('{"results":[' + 'x'.repeat(n - 30) + '],"next":""');
  const tail = Buffer.from(',"duration":"0.12ms"}', 'latin1');
  const N = 200000;
  let sink = 0;
  for (let round = 0; round < 2; round++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const chunks = [Buffer.from(page), Buffer.from(tail)];
      const raw = Buffer.concat(chunks);
      const s = raw.toString();
      sink += s.length;
    }
    const c = process.cpuUsage(c0);
    if (round === 1) console.log(JSON.stringify({ bytes: n, us_per_response: Math.round(((c.user + c.system) / N) * 100) / 100, sink }));
  }
}
