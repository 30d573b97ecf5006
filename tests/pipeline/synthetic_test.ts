import assert from "node:assert/strict";
import { validateCustomerEvent } from "../../src/schema/customer.ts";
import { REAL_FREQUENCIES, SyntheticCustomers } from "../../src/pipeline/synthetic.ts";

const ADD_ONS = ["OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies"];
const SAMPLE = Array.from(
  { length: 20000 },
  ((generator) => () => generator.next())(new SyntheticCustomers({ seed: 3 })),
);

function share(predicate: (customer: (typeof SAMPLE)[number]) => boolean): number {
  return SAMPLE.filter(predicate).length / SAMPLE.length;
}

Deno.test("SyntheticCustomers", async (t) => {
  await t.step("SyntheticCustomers makes customers that pass the event schema", () => {
    for (const customer of SAMPLE.slice(0, 2000)) {
      const result = validateCustomerEvent({ ...customer, event_id: "x", event_ts: "2025-01-01T00:00:00.000Z" });
      assert.ok(result.ok, JSON.stringify(result));
    }
  });
  await t.step("SyntheticCustomers gives no internet add-on (streaming included) without internet service", () => {
    for (const customer of SAMPLE) {
      const record = customer as unknown as Record<string, string>;
      for (const name of ADD_ONS) {
        assert.equal(
          record[name] === "No internet service",
          customer.InternetService === "No",
          `${name}: ${record[name]}`,
        );
      }
    }
  });
  await t.step("SyntheticCustomers gives 'No phone service' exactly when there is no phone", () => {
    for (const customer of SAMPLE) {
      assert.equal(customer.MultipleLines === "No phone service", customer.PhoneService === "No");
      assert.ok(customer.PhoneService === "Yes" || customer.InternetService !== "No", "a customer with no service");
    }
  });
  await t.step("SyntheticCustomers keeps TotalCharges ≈ tenure × MonthlyCharges (null at tenure 0)", () => {
    for (const customer of SAMPLE) {
      if (customer.tenure === 0) {
        assert.equal(customer.TotalCharges, null);
        continue;
      }
      const ratio = customer.TotalCharges! / (customer.tenure * customer.MonthlyCharges);
      assert.ok(ratio >= 0.85 && ratio <= 1.15, `ratio ${ratio}`);
    }
  });
  await t.step("SyntheticCustomers' category frequencies are within 2 points of the real file's", () => {
    const f = REAL_FREQUENCIES;
    const checks: [string, number, number][] = [
      ["Male", share((c) => c.gender === "Male"), f.gender.Male / f.rows],
      ["SeniorCitizen", share((c) => c.SeniorCitizen === 1), f.SeniorCitizen[1] / f.rows],
      ["Fiber optic", share((c) => c.InternetService === "Fiber optic"), f.InternetService["Fiber optic"] / f.rows],
      ["no internet", share((c) => c.InternetService === "No"), f.InternetService.No / f.rows],
      ["no phone", share((c) => c.PhoneService === "No"), f.PhoneServiceGivenInternet.No / f.rows],
      ["Two year", share((c) => c.Contract === "Two year"), (498 + 344 + 485) / f.rows],
      [
        "Electronic check",
        share((c) => c.PaymentMethod === "Electronic check"),
        f.PaymentMethod["Electronic check"] / f.rows,
      ],
      ["StreamingTV", share((c) => c.StreamingTV === "Yes"), (761 + 1403) / f.rows],
      ["Dependents", share((c) => c.Dependents === "Yes"), (1377 + 297) / f.rows],
      ["tenure ≤ 8", share((c) => c.tenure <= 8), (1319 + 54 + 35) / f.rows],
    ];
    for (const [name, actual, expected] of checks) {
      assert.ok(Math.abs(actual - expected) < 0.02, `${name}: ${actual.toFixed(3)} vs ${expected.toFixed(3)}`);
    }
    const meanMonthly = SAMPLE.reduce((sum, c) => sum + c.MonthlyCharges, 0) / SAMPLE.length;
    assert.ok(meanMonthly > 60 && meanMonthly < 70, `mean MonthlyCharges ${meanMonthly}`); // real file: 64.8
  });
  await t.step("SyntheticCustomers' ids are unique and shaped like the data set's", () => {
    const generator = new SyntheticCustomers({ seed: 9 });
    const ids = new Set<string>();
    for (let index = 0; index < 200000; index++) ids.add(generator.next().customerID);
    assert.equal(ids.size, 200000);
    for (const id of [...ids].slice(0, 100)) assert.match(id, /^\d{4}-[A-Z]{5}$/);
  });
  await t.step("SyntheticCustomers repeats itself for the same seed and differs for another", () => {
    const a = new SyntheticCustomers({ seed: 5 }),
      b = new SyntheticCustomers({ seed: 5 }),
      c = new SyntheticCustomers({ seed: 6 });
    const take = (g: SyntheticCustomers) => Array.from({ length: 50 }, () => g.next());
    const first = take(a);
    assert.deepEqual(first, take(b));
    assert.notDeepEqual(first, take(c));
  });
});
