/** The churnctl release; `churnctl --version` prints it with Deno's and the model's versions. */
export const VERSION = "0.1.0";
