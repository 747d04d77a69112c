import { loadCheckpoint } from "./src/model/checkpoint.ts";
import { forward } from "./src/model/transformer.ts";
import { mathEvalSet } from "./src/data/math.ts";
import { mathDocument } from "./src/data/dataset.ts";
import { crossEntropy } from "./src/tensor/losses.ts";
import { Tensor } from "./src/tensor/tensor.ts";
const { config, params, tokenizer } = loadCheckpoint("models/math-teacher");
const probs = mathEvalSet(300, 5);
const byOp: Record<string, number[]> = {};
for (const p of probs) {
  const op = p.question[3];
  const doc = mathDocument(tokenizer!, p);
  const logits = forward(config, params, doc.tokens);
  const V = config.vocabSize;
  const arr = (byOp[op] ??= new Array(doc.tokens.length).fill(0));
  for (let i = doc.trainFrom - 1; i < doc.tokens.length - 1; i++) {
    const row = new Tensor(logits.data.slice(i * V, (i + 1) * V), [1, V]);
    arr[i] += crossEntropy(row, [doc.tokens[i + 1]]).data[0] / 100;
  }
}
for (const [op, arr] of Object.entries(byOp)) {
  const ex = probs.find((p) => p.question[3] === op)!;
  const text = "^" + ex.question + "\n" + ex.solution + "$";
  console.log(op, [...text].map((c, i) => `${JSON.stringify(c).slice(1,-1)}:${(arr[i-1] ?? 0).toFixed(2)}`).join(" "));
}
