/**
 * The HTML report as a browser shows it: headless Chromium takes a screenshot
 * and dumps the DOM. Needs /usr/bin/chromium (`scripts/ensure_test_tools.sh`
 * installs it); skipped, saying why, where it is absent.
 *
 * @module
 */
import assert from "node:assert/strict";
import { render } from "../../src/report/render.ts";
import { sampleSummary } from "./sample.ts";
import { ROOT } from "../support.ts";

const CHROMIUM = "/usr/bin/chromium";
const available = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!available) {
  console.log(`html_chromium_test: skipped: ${CHROMIUM} is absent (run scripts/ensure_test_tools.sh to install it)`);
}

async function chromium(args: string[], profile: string): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

Deno.test({ name: "html report in chromium", ignore: !available }, async (t) => {
  const dir = await Deno.makeTempDir();
  const page = `${dir}/summary.html`;
  await Deno.writeTextFile(page, render(sampleSummary(), "html"));
  // Kept where a person can look at it after the run.
  const screenshot = `${ROOT}.churnctl/test-html-report.png`;
  await Deno.mkdir(`${ROOT}.churnctl`, { recursive: true });
  await Deno.remove(screenshot).catch(() => {});

  await t.step("html report in chromium renders to a non-trivial screenshot", async () => {
    const result = await chromium(
      [`--screenshot=${screenshot}`, "--window-size=1200,1600", `file://${page}`],
      `${dir}/p1`,
    );
    assert.equal(result.code, 0);
    const png = await Deno.readFile(screenshot);
    assert.deepEqual([...png.slice(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "a PNG");
    assert.ok(png.length > 30_000, `the screenshot has content (${png.length} bytes)`);
  });

  await t.step("html report in chromium has the three charts with their bars", async () => {
    const { code, stdout: dom } = await chromium(["--dump-dom", `file://${page}`], `${dir}/p2`);
    assert.equal(code, 0);
    for (const id of ["chart-histogram", "chart-timeline", "chart-deadletters"]) {
      assert.match(dom, new RegExp(`<svg id="${id}" class="chart"`), id);
    }
    const section = (id: string) =>
      dom.slice(dom.indexOf(`id="${id}"`), dom.indexOf("</svg>", dom.indexOf(`id="${id}"`)));
    assert.ok((section("chart-histogram").match(/<rect class="bar/g) ?? []).length >= 3, "histogram bars");
    assert.ok((section("chart-timeline").match(/<rect class="bar/g) ?? []).length >= 3, "timeline bars");
    assert.equal((section("chart-deadletters").match(/<rect class="bar/g) ?? []).length, 2, "one bar per reason");
    assert.match(dom, /<table id="top-at-risk">/);
  });

  await Deno.remove(dir, { recursive: true });
});
