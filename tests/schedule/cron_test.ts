import assert from "node:assert/strict";
import { nextRun, parseCron, validateCron } from "../../src/schedule/cron.ts";
import { UsageError } from "../../src/errors.ts";

const at = (iso: string) => Date.parse(iso);

Deno.test("cron", async (t) => {
  await t.step("cron accepts the defaults and common forms", () => {
    for (
      const expression of [
        "0 * * * *",
        "* * * * *",
        "*/5 * * * *",
        "0 9 * * MON-FRI",
        "0-30/10 1,13 1 JAN *",
        "5/15 * * * *",
      ]
    ) {
      assert.equal(parseCron(expression).source, expression);
    }
  });

  await t.step("cron refuses bad expressions with the reason", () => {
    const cases: [string, RegExp][] = [
      ["nope", /expected 5 fields/],
      ["", /expected 5 fields/],
      ["0 * * * * *", /got 6/],
      ["61 * * * *", /minute 61 is out of range 0-59/],
      ["0 24 * * *", /hour 24/],
      ["*/0 * * * *", /step must be at least 1/],
      ["0 0 * * 0", /day of week 0 is not accepted by Deno.cron; use SUN/],
      ["0 0 30 2 *", /never fires/],
      ["0 0 * FOO *", /month 'FOO' is not a number or a name/],
      ["5-1 * * * *", /runs backwards/],
    ];
    for (const [expression, reason] of cases) {
      assert.throws(
        () => parseCron(expression),
        (error: Error) => error instanceof UsageError && reason.test(error.message),
        expression,
      );
    }
  });

  await t.step("cron next run follows the fields in UTC", () => {
    assert.equal(nextRun(parseCron("0 * * * *"), at("2025-10-11T03:15:30Z")), at("2025-10-11T04:00:00Z"));
    assert.equal(nextRun(parseCron("* * * * *"), at("2025-10-11T03:15:30Z")), at("2025-10-11T03:16:00Z"));
    // 2025-10-11 is a Saturday; MON is the 13th. Day of week 2 = Monday in Deno's numbering.
    assert.equal(nextRun(parseCron("30 8 * * MON"), at("2025-10-11T00:00:00Z")), at("2025-10-13T08:30:00Z"));
    assert.equal(nextRun(parseCron("30 8 * * 2"), at("2025-10-11T00:00:00Z")), at("2025-10-13T08:30:00Z"));
    assert.equal(nextRun(parseCron("0 0 29 2 *"), at("2025-03-01T00:00:00Z")), at("2028-02-29T00:00:00Z"));
  });

  await t.step("cron validation asks Deno too and leaves nothing scheduled", () => {
    assert.equal(validateCron("0 * * * *", "--batch-cron").source, "0 * * * *");
    assert.throws(() => validateCron("nope", "--batch-cron"), /^UsageError: --batch-cron: cron 'nope'/);
  });
});
