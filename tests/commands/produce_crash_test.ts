/**
 * Producer crash-resume against the shared broker (nothing is restarted):
 * `produce --mode batch --checkpoint` is SIGKILLed part-way three times and
 * resumed; every CSV row reaches the topic at least once and duplicates stay
 * within one batch per kill.
 *
 * @module
 */
import assert from "node:assert/strict";
import { producerCrashResume } from "../../scripts/soak/crash_resume.ts";
import { DATA_FILE, testConnection, uniqueTopics } from "../support.ts";

const hasData = await Deno.stat(DATA_FILE).then(() => true, () => false);

Deno.test({
  name: "produce crash-resume",
  ignore: !hasData,
  async fn(t) {
    const workDir = await Deno.makeTempDir({ prefix: "churnctl-crash-" });
    try {
      const result = await producerCrashResume({
        connection: testConnection,
        csv: DATA_FILE,
        topic: uniqueTopics("crash").input,
        kills: 3,
        batchSize: 50,
        seed: 9,
        workDir,
      });
      await t.step("produce crash-resume kills the batch producer part-way", () => {
        assert.ok(result.kills >= 2, JSON.stringify(result));
      });
      await t.step("produce crash-resume gets every CSV row to the topic", () => {
        assert.equal(result.missing_rows, 0, JSON.stringify(result));
        assert.ok(result.on_topic >= result.rows);
      });
      await t.step("produce crash-resume duplicates at most one batch per kill", () => {
        assert.ok(result.duplicates <= result.max_allowed_duplicates, JSON.stringify(result));
        assert.ok(result.ok, JSON.stringify(result));
      });
    } finally {
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    }
  },
});
