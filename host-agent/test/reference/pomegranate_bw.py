"""Reference Baum-Welch by Debian's python3-pomegranate (0.14.8): reads
{"pi","a","b","seqs","iterations"} on stdin; for k = 1..iterations, trains a
fresh copy of the model for k iterations and prints the total log-likelihood
of the data under it. Run with /usr/bin/python3."""
import json
import sys

import numpy
from pomegranate import DiscreteDistribution, HiddenMarkovModel

req = json.load(sys.stdin)
pi, a, b, seqs = req["pi"], req["a"], req["b"], req["seqs"]
m = len(b[0])


def build():
    dists = [DiscreteDistribution({k: row[k] for k in range(m)}) for row in b]
    return HiddenMarkovModel.from_matrix(numpy.array(a), dists, numpy.array(pi),
                                         state_names=[f"s{i}" for i in range(len(pi))], merge="None")


out = []
for k in range(1, req["iterations"] + 1):
    model = build()
    model.fit([numpy.array(s) for s in seqs], algorithm="baum-welch", max_iterations=k, min_iterations=k,
              stop_threshold=0, edge_inertia=0.0, distribution_inertia=0.0, use_pseudocount=False,
              verbose=False, n_jobs=1)
    out.append(sum(model.log_probability(numpy.array(s)) for s in seqs))
print(json.dumps({"logLikelihoods": out}))
