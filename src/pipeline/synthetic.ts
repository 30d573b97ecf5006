/**
 * A seeded generator of realistic, internally consistent customers for the
 * demo and the benchmarks: no internet add-on without internet service, no
 * "multiple lines" without phone service, MonthlyCharges from the data set's
 * price list, TotalCharges ≈ tenure × MonthlyCharges (null at tenure 0, as in
 * the data set), category frequencies close to the real file's, unique ids.
 * Synthetic customers carry no `Churn` label: there is no truth to give.
 *
 * @module
 */
import type { Customer } from "../schema/customer.ts";

/**
 * Frequencies counted once from the shared data file
 * (`../shared/data/telco-customer-churn.csv`, 5,634 rows of IBM's public
 * "Telco Customer Churn" set) by a throwaway script; counts, not shares, so
 * the source can be checked. Conditional tables are keyed by the condition.
 */
export const REAL_FREQUENCIES = {
  rows: 5634,
  gender: { Female: 2790, Male: 2844 },
  SeniorCitizen: { 0: 4701, 1: 933 },
  Partner: { Yes: 2701, No: 2933 },
  DependentsGivenPartner: { Yes: { Yes: 1377, No: 1324 }, No: { Yes: 297, No: 2636 } },
  InternetService: { DSL: 1930, "Fiber optic": 2485, No: 1219 },
  /** Among customers with internet (every customer without internet has a phone). */
  PhoneServiceGivenInternet: { Yes: 3861, No: 554 },
  MultipleLinesGivenPhone: { Yes: 2362, No: 2718 },
  AddOnYesGivenInternet: {
    DSL: {
      OnlineSecurity: 930,
      OnlineBackup: 880,
      DeviceProtection: 841,
      TechSupport: 928,
      StreamingTV: 761,
      StreamingMovies: 772,
      total: 1930,
    },
    "Fiber optic": {
      OnlineSecurity: 678,
      OnlineBackup: 1070,
      DeviceProtection: 1077,
      TechSupport: 693,
      StreamingTV: 1403,
      StreamingMovies: 1421,
      total: 2485,
    },
  },
  ContractGivenInternet: {
    DSL: { "Month-to-month": 967, "One year": 465, "Two year": 498 },
    "Fiber optic": { "Month-to-month": 1713, "One year": 428, "Two year": 344 },
    No: { "Month-to-month": 435, "One year": 299, "Two year": 485 },
  },
  /** Tenure in bins of 9 months (0–8, 9–17, …, 63–72) per contract. */
  TenureBinsGivenContract: {
    "Month-to-month": [1319, 573, 393, 298, 200, 144, 122, 66],
    "One year": [54, 109, 144, 141, 153, 195, 191, 205],
    "Two year": [35, 42, 59, 53, 73, 149, 187, 729],
  },
  PaperlessBilling: { Yes: 3340, No: 2294 },
  PaymentMethod: {
    "Electronic check": 1925,
    "Mailed check": 1294,
    "Bank transfer (automatic)": 1233,
    "Credit card (automatic)": 1182,
  },
} as const;

/**
 * Monthly price list fitted to the same file by least squares (residual
 * s.d. ≈ 1.0): phone 20, extra lines 5, DSL 25, fiber 50, each of the four
 * protection add-ons 5, each streaming service 10.
 */
export const PRICE_LIST = {
  phone: 20,
  multipleLines: 5,
  DSL: 25,
  "Fiber optic": 50,
  protectionAddOn: 5,
  streaming: 10,
} as const;

const ADD_ONS = [
  "OnlineSecurity",
  "OnlineBackup",
  "DeviceProtection",
  "TechSupport",
  "StreamingTV",
  "StreamingMovies",
] as const;

/** sfc32: a small, fast, seedable PRNG with good statistical quality; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed, b = 0x243f6a88 ^ (seed * 31), c = 0xb7e15162, d = seed | 0;
  const next = () => {
    a |= 0, b |= 0, c |= 0, d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let warm = 0; warm < 15; warm++) next();
  return next;
}

const ID_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Size of the id space `NNNN-LLLLL` (the data set's shape). */
const ID_SPACE = 10_000n * 26n ** 5n;
/**
 * Coprime to ID_SPACE (= 2^9 · 5^4 · 13^5), so n → n·A + B mod ID_SPACE is a
 * bijection: unique ids. Near ID_SPACE / golden ratio, so consecutive ids
 * look unrelated.
 */
const ID_MULTIPLIER = 73_430_942_007n;

/** Options of {@link SyntheticCustomers}. */
export interface SyntheticOptions {
  /** Seed: the same seed gives the same customers in the same order. @default 1 */
  seed?: number;
}

/** An endless, repeatable stream of synthetic customers; see the module doc. */
export class SyntheticCustomers {
  #random: () => number;
  #idOffset: bigint;
  #count = 0;
  #tables = new Map<object, { keys: string[]; counts: number[] }>();

  constructor(options: SyntheticOptions = {}) {
    const seed = options.seed ?? 1;
    this.#random = seededRandom(seed);
    this.#idOffset = BigInt(Math.floor(this.#random() * Number(ID_SPACE)));
  }

  /** Customers generated so far. */
  get count(): number {
    return this.#count;
  }

  /** The next customer. */
  next(): Customer {
    const f = REAL_FREQUENCIES;
    const internet = this.#pick(f.InternetService);
    const phone = internet === "No" ? "Yes" : this.#pick(f.PhoneServiceGivenInternet);
    const multipleLines = phone === "No" ? "No phone service" : this.#pick(f.MultipleLinesGivenPhone);
    const addOns: Record<string, string> = {};
    let monthly = (phone === "Yes" ? PRICE_LIST.phone : 0) + (multipleLines === "Yes" ? PRICE_LIST.multipleLines : 0);
    if (internet === "No") {
      for (const name of ADD_ONS) addOns[name] = "No internet service";
    } else {
      monthly += PRICE_LIST[internet];
      const table = f.AddOnYesGivenInternet[internet];
      for (const name of ADD_ONS) {
        const yes = this.#random() < table[name] / table.total;
        addOns[name] = yes ? "Yes" : "No";
        if (yes) monthly += name.startsWith("Streaming") ? PRICE_LIST.streaming : PRICE_LIST.protectionAddOn;
      }
    }
    monthly = round2(Math.max(18.25, monthly + this.#normal() * 1.0));
    const contract = this.#pick(f.ContractGivenInternet[internet]);
    const bins = f.TenureBinsGivenContract[contract];
    const bin = this.#pickIndex(bins);
    const binWidth = bin === bins.length - 1 ? 10 : 9;
    const tenure = bin * 9 + Math.floor(this.#random() * binWidth);
    // Real totals deviate from tenure × monthly by price changes over time: ±10 % covers 80 % of rows.
    const total = tenure === 0 ? null : round2(tenure * monthly * (0.9 + 0.2 * this.#random()));
    const partner = this.#pick(f.Partner);
    const customer: Customer = {
      customerID: this.#nextId(),
      gender: this.#pick(f.gender),
      SeniorCitizen: Number(this.#pick(f.SeniorCitizen)),
      Partner: partner,
      Dependents: this.#pick(f.DependentsGivenPartner[partner as "Yes" | "No"]),
      tenure,
      PhoneService: phone,
      MultipleLines: multipleLines,
      InternetService: internet,
      OnlineSecurity: addOns.OnlineSecurity,
      OnlineBackup: addOns.OnlineBackup,
      DeviceProtection: addOns.DeviceProtection,
      TechSupport: addOns.TechSupport,
      StreamingTV: addOns.StreamingTV,
      StreamingMovies: addOns.StreamingMovies,
      Contract: contract,
      PaperlessBilling: this.#pick(f.PaperlessBilling),
      PaymentMethod: this.#pick(f.PaymentMethod),
      MonthlyCharges: monthly,
      TotalCharges: total,
    };
    this.#count++;
    return customer;
  }

  #nextId(): string {
    const n = Number((BigInt(this.#count) * ID_MULTIPLIER + this.#idOffset) % ID_SPACE);
    let letters = Math.floor(n / 10_000);
    let suffix = "";
    for (let index = 0; index < 5; index++) {
      suffix += ID_LETTERS[letters % 26];
      letters = Math.floor(letters / 26);
    }
    return `${String(n % 10_000).padStart(4, "0")}-${suffix}`;
  }

  #pick<K extends string | number>(counts: Readonly<Record<K, number>>): K & string {
    let table = this.#tables.get(counts);
    if (!table) {
      // Built once per table: Object.entries per draw was a third of the generator's time.
      this.#tables.set(counts, table = { keys: Object.keys(counts), counts: Object.values(counts) as number[] });
    }
    return table.keys[this.#pickIndex(table.counts)] as K & string;
  }

  #pickIndex(counts: readonly number[]): number {
    let total = 0;
    for (const count of counts) total += count;
    let target = this.#random() * total;
    for (let index = 0; index < counts.length; index++) {
      target -= counts[index];
      if (target < 0) return index;
    }
    return counts.length - 1;
  }

  /** Standard normal (Box–Muller). */
  #normal(): number {
    const u = 1 - this.#random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#random());
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
