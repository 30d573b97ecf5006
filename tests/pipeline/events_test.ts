import assert from "node:assert/strict";
import { validateCustomerEvent } from "../../src/schema/customer.ts";
import type { CsvRow } from "../../src/pipeline/csv_source.ts";
import { checkRow, EventStamper, RUN_ID_HEADER, SCHEMA_VERSION_HEADER } from "../../src/pipeline/events.ts";

const GOOD: Record<string, string> = {
  customerID: "7590-VHVEG",
  gender: "Female",
  SeniorCitizen: "0",
  Partner: "Yes",
  Dependents: "No",
  tenure: "1",
  PhoneService: "No",
  MultipleLines: "No phone service",
  InternetService: "DSL",
  OnlineSecurity: "No",
  OnlineBackup: "Yes",
  DeviceProtection: "No",
  TechSupport: "No",
  StreamingTV: "No",
  StreamingMovies: "No",
  Contract: "Month-to-month",
  PaperlessBilling: "Yes",
  PaymentMethod: "Electronic check",
  MonthlyCharges: "29.85",
  TotalCharges: "29.85",
  Churn: "No",
};

function row(changes: Record<string, string | undefined>, extra: string[] = []): CsvRow {
  const cells: Record<string, string> = { ...GOOD };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete cells[key];
    else cells[key] = value;
  }
  return { rowNumber: 7, line: 8, cells, extra, bytesRead: 0 };
}

Deno.test("checkRow", async (t) => {
  await t.step("checkRow normalizes a valid row: numbers as numbers, SeniorCitizen 0/1", () => {
    const outcome = checkRow(row({}));
    assert.ok(outcome.ok);
    assert.equal(outcome.customer.tenure, 1);
    assert.equal(outcome.customer.MonthlyCharges, 29.85);
    assert.equal(outcome.customer.SeniorCitizen, 0);
  });
  await t.step("checkRow turns a blank TotalCharges into null", () => {
    const outcome = checkRow(row({ tenure: "0", TotalCharges: " " }));
    assert.ok(outcome.ok);
    assert.equal(outcome.customer.TotalCharges, null);
  });
  const cases: [string, Record<string, string | undefined>, string[], string, string | undefined][] = [
    ["missing_field for a missing column", { tenure: undefined }, [], "missing_field", "tenure"],
    ["unexpected_field for cells beyond the header", {}, ["surplus"], "unexpected_field", undefined],
    ["wrong_type for a non-numeric tenure", { tenure: "twelve" }, [], "wrong_type", "tenure"],
    ["wrong_type for a fractional tenure", { tenure: "1.5" }, [], "wrong_type", "tenure"],
    ["unknown_category for a gender outside the enum", { gender: "F" }, [], "unknown_category", "gender"],
    ["unknown_category for SeniorCitizen 2", { SeniorCitizen: "2" }, [], "unknown_category", "SeniorCitizen"],
    ["out_of_range for a negative MonthlyCharges", { MonthlyCharges: "-5" }, [], "out_of_range", "MonthlyCharges"],
    ["bad_format for an empty customerID", { customerID: "" }, [], "bad_format", "customerID"],
  ];
  for (const [name, changes, extra, reason, field] of cases) {
    await t.step(`checkRow reports ${name}, with row and line`, () => {
      const outcome = checkRow(row(changes, extra));
      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.equal(outcome.invalid.reason, reason);
      if (field) assert.equal(outcome.invalid.field, field);
      assert.equal(outcome.invalid.row, 7);
      assert.equal(outcome.invalid.line, 8);
      assert.ok(outcome.invalid.message.length > 0);
    });
  }
  await t.step("checkRow's schema reports not_an_object for a non-object event", () => {
    const result = validateCustomerEvent("a string");
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.reason, "not_an_object");
  });
});

Deno.test("EventStamper", async (t) => {
  await t.step("EventStamper builds a schema-valid event keyed by customerID with both headers", () => {
    const stamper = new EventStamper("run-1", () => Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    const outcome = checkRow(row({}));
    assert.ok(outcome.ok);
    const message = stamper.customerEvent(outcome.customer);
    assert.equal(message.key, "7590-VHVEG");
    assert.deepEqual(message.headers, { [SCHEMA_VERSION_HEADER]: "1", [RUN_ID_HEADER]: "run-1" });
    const value = JSON.parse(message.value);
    assert.equal(value.event_ts, "2025-01-02T03:04:05.006Z");
    assert.equal(value.event_id, "run-1-1");
    assert.ok(validateCustomerEvent(value).ok);
  });
  await t.step("EventStamper gives every event its own id", () => {
    const stamper = new EventStamper("run-2");
    const outcome = checkRow(row({}));
    assert.ok(outcome.ok);
    const ids = new Set(
      Array.from({ length: 1000 }, () => JSON.parse(stamper.customerEvent(outcome.customer).value).event_id),
    );
    assert.equal(ids.size, 1000);
  });
  await t.step("EventStamper sends an invalid row raw, traceable, and failing the schema", () => {
    const stamper = new EventStamper("run-3");
    const message = stamper.rawRowEvent(row({ tenure: "twelve" }, ["surplus"]));
    const value = JSON.parse(message.value);
    assert.equal(message.key, "7590-VHVEG");
    assert.equal(value.tenure, "twelve");
    assert.deepEqual(value._extra, ["surplus"]);
    assert.equal(value.event_id, "run-3-1");
    assert.equal(validateCustomerEvent(value).ok, false);
  });
  await t.step("EventStamper keys a raw row without customerID with null", () => {
    const message = new EventStamper("run-4").rawRowEvent(row({ customerID: " " }));
    assert.equal(message.key, null);
  });
});
