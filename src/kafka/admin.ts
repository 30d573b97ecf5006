/**
 * Cluster administration: probing the broker, creating and describing topics,
 * and reading a consumer group's committed offsets against the high
 * watermarks (lag).
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { BrokerError } from "../errors.ts";
import { type ClientOptions, type ConnectionSettings, createKafka } from "./client.ts";
import { describeKafkaError, toBrokerError, withDeadline } from "./errors.ts";

/** What {@link probeBroker} found. */
export interface BrokerProbe {
  /** True when the cluster answered a metadata request. */
  ok: boolean;
  /** Round trip of connect + describeCluster, in ms. */
  rttMs: number;
  /** Number of brokers in the cluster (when ok). */
  brokers?: number;
  /** Cluster id (when ok). */
  clusterId?: string;
  /** One-line reason (when not ok). */
  error?: string;
}

/** Runs `work` with a connected admin client and always disconnects it. */
export async function withAdmin<T>(
  settings: ConnectionSettings,
  work: (admin: Admin) => Promise<T>,
  options: ClientOptions & { deadlineMs?: number } = {},
): Promise<T> {
  const admin = createKafka(settings, { retries: 2, ...options }).admin();
  const deadlineMs = options.deadlineMs ??
    settings.connectTimeoutMs * 4 + 10000;
  try {
    return await withDeadline(
      admin.connect().then(() => work(admin)),
      deadlineMs,
      () =>
        new BrokerError(
          `broker at ${settings.brokers.join(",")} did not answer within ${deadlineMs} ms`,
        ),
    );
  } catch (error) {
    throw toBrokerError(error, settings);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Asks the cluster for its metadata once, within `timeoutMs`, with no retries. */
export async function probeBroker(
  settings: ConnectionSettings,
  timeoutMs: number,
): Promise<BrokerProbe> {
  const started = performance.now();
  const admin = createKafka(
    {
      ...settings,
      connectTimeoutMs: Math.min(settings.connectTimeoutMs, timeoutMs),
    },
    { retries: 0, requestTimeoutMs: timeoutMs },
  ).admin();
  try {
    const cluster = await withDeadline(
      admin.connect().then(() => admin.describeCluster()),
      timeoutMs,
      () =>
        new BrokerError(
          `broker at ${settings.brokers.join(",")} did not answer within ${timeoutMs} ms`,
        ),
    );
    return {
      ok: true,
      rttMs: Math.round((performance.now() - started) * 10) / 10,
      brokers: cluster.brokers.length,
      clusterId: cluster.clusterId,
    };
  } catch (error) {
    return {
      ok: false,
      rttMs: Math.round(performance.now() - started),
      error: describeKafkaError(error, settings),
    };
  } finally {
    admin.disconnect().catch(() => {});
  }
}

/**
 * Whether the cluster can coordinate consumer groups yet: a new broker answers metadata requests seconds before
 * its offsets topic exists, and group calls fail with "not the correct coordinator" until then.
 */
export async function probeGroupCoordinator(
  settings: ConnectionSettings,
  timeoutMs: number,
): Promise<{ ok: boolean; error?: string }> {
  try {
    // Two retries: with none, kafkajs's admin fails with "No brokers in the broker pool" on a new connection.
    await withAdmin(settings, (admin) => admin.describeGroups(["churnctl-readiness-probe"]), {
      retries: 2,
      deadlineMs: timeoutMs,
    });
    return { ok: true };
  } catch (error) {
    return { ok: false, error: describeKafkaError(error, settings) };
  }
}

/** A topic churnctl needs, with the partition count it wants. */
export interface TopicSpec {
  /** Topic name. */
  topic: string;
  /** Wanted partitions. */
  partitions: number;
  /** Replication factor. @default 1 */
  replicationFactor?: number;
}

/** What {@link ensureTopics} did for one topic. */
export interface TopicOutcome {
  /** Topic name. */
  topic: string;
  /** `created`, `exists`, or `too_few_partitions` (exists with fewer than wanted). */
  status: "created" | "exists" | "too_few_partitions";
  /** Partitions the topic has now. */
  partitions: number;
  /** Partitions that were asked for. */
  wanted: number;
}

/** Partition counts of the named topics; a missing topic maps to `undefined`. */
export async function describeTopics(
  admin: Admin,
  topics: string[],
): Promise<Map<string, number | undefined>> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((topic) => existing.has(topic));
  const result = new Map<string, number | undefined>(
    topics.map((topic) => [topic, undefined]),
  );
  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present });
    for (const entry of metadata.topics) {
      result.set(entry.name, entry.partitions.length);
    }
  }
  return result;
}

/** Creates the topics that are missing; reports, never shrinks or silently accepts, the others. */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
): Promise<TopicOutcome[]> {
  const before = await describeTopics(admin, specs.map((spec) => spec.topic));
  const missing = specs.filter((spec) => before.get(spec.topic) === undefined);
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions,
        replicationFactor: spec.replicationFactor ?? 1,
      })),
    });
  }
  return specs.map((spec) => {
    const had = before.get(spec.topic);
    if (had === undefined) {
      return {
        topic: spec.topic,
        status: "created",
        partitions: spec.partitions,
        wanted: spec.partitions,
      };
    }
    return {
      topic: spec.topic,
      status: had < spec.partitions ? "too_few_partitions" : "exists",
      partitions: had,
      wanted: spec.partitions,
    };
  });
}

/** Lag of one partition: high watermark minus the committed offset. */
export interface PartitionLag {
  /** Partition number. */
  partition: number;
  /** Committed offset of the group, or -1 when it has none. */
  committed: number;
  /** High watermark (next offset to be written). */
  highWatermark: number;
  /** Messages not yet committed by the group. */
  lag: number;
}

/** A consumer group's state and lag on one topic. */
export interface GroupLag {
  /** Group id. */
  group: string;
  /** Group state as the coordinator reports it (Stable, Empty, Dead, …). */
  state: string;
  /** Number of members. */
  members: number;
  /** Topic the lag is measured on. */
  topic: string;
  /** Sum of partition lags. */
  totalLag: number;
  /** Per partition. */
  partitions: PartitionLag[];
}

/** Reads the group's committed offsets and the topic's high watermarks. */
export async function groupLag(
  admin: Admin,
  group: string,
  topic: string,
): Promise<GroupLag> {
  const [described, committed, watermarks] = await Promise.all([
    admin.describeGroups([group]),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
  ]);
  const committedByPartition = new Map<number, number>();
  for (
    const entry of committed.find((item) => item.topic === topic)?.partitions ??
      []
  ) {
    committedByPartition.set(entry.partition, Number(entry.offset));
  }
  const partitions = watermarks.map((mark) => {
    const high = Number(mark.high);
    const low = Number(mark.low);
    const offset = committedByPartition.get(mark.partition) ?? -1;
    const lag = offset < 0 ? high - low : Math.max(0, high - offset);
    return {
      partition: mark.partition,
      committed: offset,
      highWatermark: high,
      lag,
    };
  }).sort((a, b) => a.partition - b.partition);
  const info = described.groups[0];
  return {
    group,
    state: info?.state ?? "Unknown",
    members: info?.members.length ?? 0,
    topic,
    totalLag: partitions.reduce((sum, item) => sum + item.lag, 0),
    partitions,
  };
}
