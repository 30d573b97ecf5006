import assert from "node:assert/strict";
import { FORMATS, niceMax, render } from "../../src/report/render.ts";
import { summarize } from "../../src/report/summary.ts";
import { sampleSummary } from "./sample.ts";

Deno.test("render", async (t) => {
  const summary = sampleSummary();

  await t.step("render produces every format", () => {
    for (const format of FORMATS) assert.ok(render(summary, format).length > 200, format);
  });

  await t.step("render json is the summary itself", () => {
    assert.deepEqual(JSON.parse(render(summary, "json")), summary);
  });

  await t.step("render table shows the figures and the top list", () => {
    const text = render(summary, "table");
    assert.match(text, /messages\s+5\n/);
    assert.match(text, /churn rate\s+33\.3 % \(1 Yes \/ 2 No\)/);
    assert.match(text, /7760-OYPDY\s+0\.7100\s+Yes/);
    assert.match(text, /invalid_json\s+1/);
    assert.match(text, /consumer lag\s+4 message/);
  });

  await t.step("render md escapes table cells", () => {
    const text = render(summary, "md");
    assert.match(text, /^# Churn prediction summary/);
    assert.ok(text.includes("\\<b\\>x\\</b\\>&\\|"), "pipe and angle brackets escaped");
  });

  await t.step("render html is self-contained with the three charts", () => {
    const html = render(summary, "html");
    for (const id of ["chart-histogram", "chart-timeline", "chart-deadletters"]) {
      assert.match(html, new RegExp(`<svg id="${id}" class="chart"`), id);
    }
    assert.ok(!/<script|<link|@import|src=|url\(/i.test(html), "no script, stylesheet link or external resource");
    assert.deepEqual(
      html.match(/https?:\/\/[^"\s]+/g)?.filter((url) => url !== "http://www.w3.org/2000/svg") ?? [],
      [],
    );
    assert.ok(!html.includes("<b>x</b>"), "customer id escaped");
    assert.ok(html.includes("&#60;b&#62;x&#60;/b&#62;&#38;|"));
  });

  await t.step("render html says so when a chart has no data", () => {
    const empty = summarize({
      source: { kind: "topics", predictions: "p", deadletter: "d", since: null, until: null },
      predictions: [],
      deadLetters: [],
    });
    const html = render(empty, "html");
    assert.match(html, /No predictions in this window/);
    assert.match(html, /No dead letters in this window/);
    assert.match(html, /id="chart-timeline"/);
  });

  await t.step("render niceMax rounds up to 1, 2, 2.5 or 5 times a power of ten", () => {
    assert.deepEqual([0, 1, 3, 7, 24, 177, 1001].map(niceMax), [1, 1, 5, 10, 25, 200, 2000]);
  });
});
