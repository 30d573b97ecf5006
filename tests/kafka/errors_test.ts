import assert from "node:assert/strict";
import { describeKafkaError } from "../../src/kafka/errors.ts";
import type { ConnectionSettings } from "../../src/kafka/client.ts";
import { BrokerError } from "../../src/errors.ts";

const SECURE: ConnectionSettings = {
  brokers: ["b1:9094"],
  clientId: "test",
  connectTimeoutMs: 1000,
  protocol: "sasl_ssl",
  sasl: { mechanism: "scram-sha-512", username: "alice", password: "hunter22" },
  tls: { ca: "PEM", caPath: "/etc/ca.pem" },
};
const PLAIN: ConnectionSettings = { brokers: ["b1:9092"], clientId: "test", connectTimeoutMs: 1000 };

/** A kafkajs-shaped error: retries wrap the connection error as `originalError`. */
function kafkaError(name: string, message: string, extra: Record<string, unknown> = {}) {
  const inner = Object.assign(new Error(message), { name, ...extra });
  return Object.assign(new Error(message), { name: "KafkaJSNumberOfRetriesExceeded", originalError: inner });
}

Deno.test("describeKafkaError", async (t) => {
  await t.step("describeKafkaError names the mechanism and user on a rejected login, never the password", () => {
    const line = describeKafkaError(
      kafkaError("KafkaJSSASLAuthenticationError", "SASL SCRAM SHA512 authentication failed: invalid credentials"),
      SECURE,
    );
    assert.match(
      line,
      /^authentication failed at b1:9094: SASL SCRAM-SHA-512 rejected the credentials for user 'alice'/,
    );
    assert.ok(!line.includes("hunter22"));
  });

  await t.step("describeKafkaError names the CA file and Node's reason on an untrusted certificate", () => {
    const line = describeKafkaError(
      kafkaError("KafkaJSConnectionError", "Connection error: self-signed certificate in certificate chain", {
        code: "SELF_SIGNED_CERT_IN_CHAIN",
      }),
      SECURE,
    );
    assert.equal(
      line,
      "TLS certificate verification failed for b1:9094 against CA file /etc/ca.pem: self-signed certificate in certificate chain (check CHURNCTL_TLS_CA)",
    );
  });

  await t.step("describeKafkaError says the system CAs were used when no CA file is set", () => {
    const line = describeKafkaError(
      kafkaError("KafkaJSConnectionError", "Connection error: unable to get local issuer certificate"),
      { ...SECURE, tls: {} },
    );
    assert.match(line, /against the system CAs \(no CHURNCTL_TLS_CA set\): unable to get local issuer certificate/);
  });

  await t.step("describeKafkaError reads a closed plaintext connection as a TLS listener", () => {
    const line = describeKafkaError(kafkaError("KafkaJSConnectionClosedError", "Closed connection"), PLAIN);
    assert.match(line, /^b1:9092 closed the connection at once: it looks like a TLS listener/);
  });

  await t.step("describeKafkaError reads a TLS client reset before the handshake as a plaintext listener", () => {
    const line = describeKafkaError(
      kafkaError(
        "KafkaJSConnectionError",
        "Connection error: Client network socket disconnected before secure TLS connection was established",
        { code: "ECONNRESET" },
      ),
      SECURE,
    );
    assert.match(line, /^TLS handshake with b1:9094 failed: it looks like a plaintext listener .*sasl_plaintext/);
  });

  await t.step("describeKafkaError tells an ssl client that the listener wants SASL", () => {
    const line = describeKafkaError(kafkaError("KafkaJSConnectionClosedError", "Closed connection"), {
      ...SECURE,
      protocol: "ssl",
      sasl: undefined,
    });
    assert.match(line, /after the TLS handshake: the listener probably requires SASL .*try sasl_ssl/);
  });

  await t.step("describeKafkaError names an unsupported mechanism and a listener without SASL", () => {
    const unsupported = Object.assign(new Error("The broker does not support the requested SASL mechanism"), {
      name: "KafkaJSProtocolError",
      type: "UNSUPPORTED_SASL_MECHANISM",
    });
    assert.match(describeKafkaError(unsupported, SECURE), /does not offer SASL SCRAM-SHA-512/);
    const illegal = Object.assign(new Error("Request is not valid given the current SASL state"), {
      name: "KafkaJSProtocolError",
      type: "ILLEGAL_SASL_STATE",
    });
    assert.match(
      describeKafkaError(illegal, { ...SECURE, protocol: "sasl_plaintext" }),
      /does not take SASL .*try plaintext/,
    );
  });

  await t.step("describeKafkaError keeps connection refused and an already-typed error as they are", () => {
    const refused = kafkaError("KafkaJSConnectionError", "Connection error: connect ECONNREFUSED", {
      code: "ECONNREFUSED",
    });
    assert.match(describeKafkaError(refused, SECURE), /^no broker at b1:9094: connection refused/);
    assert.equal(describeKafkaError(new BrokerError("already one line"), SECURE), "already one line");
  });
});
