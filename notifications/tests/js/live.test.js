// static/js/live.js's reconnect backoff and topic parsing, run by node (no DOM: the page part is skipped).
const assert = require("node:assert");
const path = require("node:path");
const { backoff, topicsOf } = require(path.join(__dirname, "../../../static/js/live.js"));

// 1 s doubling to 30 s, each between half and all of it (jitter): never a storm of reconnects.
assert.deepStrictEqual([0, 1, 2, 3, 4].map((n) => backoff(n, 1)), [1000, 2000, 4000, 8000, 16000]);
assert.strictEqual(backoff(5, 1), 30000);
assert.strictEqual(backoff(50, 1), 30000);
assert.strictEqual(backoff(0, 0), 500);
assert.strictEqual(backoff(50, 0), 15000);
for (let attempt = 0; attempt < 20; attempt++) {
  const delay = backoff(attempt);
  assert.ok(delay >= 500 && delay <= 30000, `attempt ${attempt}: ${delay}`);
}

const element = { getAttribute: (name) => (name === "data-live-topics" ? " escrow:4  task:9 " : null) };
assert.deepStrictEqual(topicsOf(element), ["escrow:4", "task:9"]);
assert.deepStrictEqual(topicsOf({ getAttribute: () => null }), []);
console.log("live.js: ok");
