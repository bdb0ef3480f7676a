"""Reference HMM computations by Debian's python3-pomegranate (0.14.8).
Reads {"pi","a","b","seq"} as JSON on stdin, prints log-likelihood,
posteriors and the Viterbi path as JSON. Run with /usr/bin/python3."""
import json
import sys

import numpy
from pomegranate import DiscreteDistribution, HiddenMarkovModel

req = json.load(sys.stdin)
pi, a, b, seq = req["pi"], req["a"], req["b"], req["seq"]
m = len(b[0])
dists = [DiscreteDistribution({k: row[k] for k in range(m)}) for row in b]
model = HiddenMarkovModel.from_matrix(numpy.array(a), dists, numpy.array(pi), state_names=[f"s{i}" for i in range(len(pi))], merge="None")
ll = model.log_probability(seq)
post = model.predict_proba(seq).tolist()
vll, vpath = model.viterbi(seq)
# pomegranate's path includes the silent start state; keep the emitting states in our order.
names = [s.name for s in model.states]
order = {f"s{i}": i for i in range(len(pi))}
path = [order[state.name] for _, state in vpath if state.name in order]
# predict_proba columns follow model.states order restricted to emitting states
emitting = [s.name for s in model.states if s.distribution is not None]
perm = [emitting.index(f"s{i}") for i in range(len(pi))]
post = [[row[p] for p in perm] for row in post]
print(json.dumps({"logLikelihood": ll, "posteriors": post, "viterbi": path, "viterbiLogProbability": vll}))
