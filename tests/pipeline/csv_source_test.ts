import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { readCsvRows } from "../../src/pipeline/csv_source.ts";
import { endlessRows } from "../../src/pipeline/row_stream.ts";
import { CSV_COLUMNS } from "../../src/schema/customer.ts";
import { DATA_FILE } from "../support.ts";

const HEADER = CSV_COLUMNS.join(",");
const ROW =
  "7590-VHVEG,Female,0,Yes,No,1,No,No phone service,DSL,No,Yes,No,No,No,No,Month-to-month,Yes,Electronic check,29.85,29.85,No";

async function collect<T>(items: AsyncIterable<T>, limit = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

Deno.test("readCsvRows", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("readCsvRows streams the shared file with row numbers 1…5,634", async () => {
      const rows = await collect(readCsvRows(DATA_FILE));
      assert.equal(rows.length, 5634);
      assert.equal(rows[0].rowNumber, 1);
      assert.equal(rows[0].cells.customerID, "7590-VHVEG");
      assert.equal(rows.at(-1)!.rowNumber, 5634);
    });
    await t.step("readCsvRows resumes at fromRow", async () => {
      const rows = await collect(readCsvRows(DATA_FILE, { fromRow: 5600 }));
      assert.equal(rows.length, 35);
      assert.equal(rows[0].rowNumber, 5600);
    });
    await t.step("readCsvRows keeps short rows short, extra cells apart, quotes and a BOM", async () => {
      const path = `${dir}/mixed.csv`;
      await Deno.writeTextFile(
        path,
        `\ufeff${HEADER}\n${ROW}\n7590-X,Female\n${ROW},surplus\n"9,9",${ROW.slice(11)}\n`,
      );
      const rows = await collect(readCsvRows(path));
      assert.equal(rows.length, 4);
      assert.equal(rows[0].cells.customerID, "7590-VHVEG");
      assert.equal(Object.keys(rows[1].cells).length, 2);
      assert.deepEqual(rows[2].extra, ["surplus"]);
      assert.equal(rows[3].cells.customerID, "9,9");
      assert.equal(rows[3].line, 5);
    });
    await t.step("readCsvRows refuses a file without the data set's header", async () => {
      const path = `${dir}/other.csv`;
      await Deno.writeTextFile(path, "a,b\n1,2\n");
      await assert.rejects(
        collect(readCsvRows(path)),
        (error: Error) => error instanceof ConfigError && /missing columns/.test(error.message),
      );
      await assert.rejects(collect(readCsvRows(`${dir}/none.csv`)), /no such file/);
    });
    await t.step("readCsvRows' endless stream cycles the file in order and shuffled", async () => {
      const path = `${dir}/three.csv`;
      await Deno.writeTextFile(
        path,
        `${HEADER}\n${ROW}\n${ROW.replace("7590-VHVEG", "B")}\n${ROW.replace("7590-VHVEG", "C")}\n`,
      );
      const sequential = await collect(endlessRows(path, { order: "sequential" }), 7);
      assert.deepEqual(sequential.map((row) => row.rowNumber), [1, 2, 3, 1, 2, 3, 1]);
      let seed = 1;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      const shuffled = await collect(endlessRows(path, { order: "random", random }), 300);
      const counts = [1, 2, 3].map((n) => shuffled.filter((row) => row.rowNumber === n).length);
      assert.ok(counts.every((count) => count > 70), `counts ${counts}`);
      assert.notDeepEqual(shuffled.slice(0, 9).map((row) => row.rowNumber), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
