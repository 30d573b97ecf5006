import assert from "node:assert/strict";
import { parse } from "yaml";
import { CONNECTION_OPTIONS } from "../src/config.ts";
import { ROOT } from "./support.ts";

const compose = parse(await Deno.readTextFile(`${ROOT}compose.yaml`));

Deno.test("compose.yaml", async (t) => {
  await t.step("compose publishes Redpanda's Kafka API on churnctl's default broker address", () => {
    const [defaultBroker] = CONNECTION_OPTIONS.brokers.default;
    const port = defaultBroker.split(":")[1];
    assert.ok(compose.services.redpanda.ports.includes(`127.0.0.1:${port}:${port}`));
    const advertise = compose.services.redpanda.command.find((arg: string) => arg.startsWith("--advertise-kafka-addr"));
    assert.match(advertise, new RegExp(`external://${defaultBroker.replaceAll(".", "\\.")}`));
    assert.match(compose.services.redpanda.image, /redpanda:v24\.[2-9]|redpanda:v2[5-9]\./);
  });
  await t.step("compose serves Redpanda Console on port 8080", () => {
    assert.ok(compose.services.console.ports.includes("127.0.0.1:8080:8080"));
  });
  await t.step("compose creates the default topics with 3, 3 and 1 partitions", () => {
    const script: string = compose.services.topics.command.join(" ");
    const topics = [
      [CONNECTION_OPTIONS["input-topic"].default, 3],
      [CONNECTION_OPTIONS["output-topic"].default, 3],
      [CONNECTION_OPTIONS["deadletter-topic"].default, 1],
    ] as const;
    for (const [topic, partitions] of topics) {
      assert.match(script, new RegExp(`rpk topic create ${topic.replaceAll(".", "\\.")} -p ${partitions} `));
    }
  });
  await t.step("compose validates with docker-compose where it is installed", async () => {
    const found = await new Deno.Command("sh", { args: ["-c", "command -v docker-compose"], stdout: "null" })
      .output();
    if (found.code !== 0) {
      console.log(
        "skipped: docker-compose is not installed (apt-get install docker-compose validates without an engine)",
      );
      return;
    }
    const result = await new Deno.Command("docker-compose", { args: ["-f", `${ROOT}compose.yaml`, "config", "-q"] })
      .output();
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  });
});
