#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Small, dependency-free statistics for the benchmarks.

Medians and percentiles rather than means: a garbage collection or a
periodic task landing in one sample must not move a figure. Ratios come
with a bootstrap interval so a reader can tell a 2 % difference from noise.
"""

import math
import random


def percentile(values, q):
    """The q-th percentile (0..100), linear between closest ranks."""
    data = sorted(values)
    if not data:
        raise ValueError('no values')
    pos = (len(data) - 1) * q / 100.0
    low = math.floor(pos)
    high = math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def median(values):
    return percentile(values, 50)


def summary(values):
    """n, median, p10, p25, p75, p90, min, max of ``values``."""
    return {
        'n': len(values),
        'median': median(values),
        'p10': percentile(values, 10),
        'p25': percentile(values, 25),
        'p75': percentile(values, 75),
        'p90': percentile(values, 90),
        'min': min(values),
        'max': max(values),
    }


def median_ratio(numerators, denominators, resamples=2000, seed=1):
    """median(numerators) / median(denominators) with a 95 % bootstrap
    interval.

    The two lists are paired (sample i of each was taken side by side), so
    pairs are resampled together: drift that hit both arms cancels.
    """
    if len(numerators) != len(denominators):
        raise ValueError('paired samples differ in length')
    ratio = median(numerators) / median(denominators)
    rng = random.Random(seed)
    n = len(numerators)
    ratios = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        num = median([numerators[i] for i in idx])
        den = median([denominators[i] for i in idx])
        ratios.append(num / den)
    return {'ratio': ratio, 'ci95': (percentile(ratios, 2.5),
                                     percentile(ratios, 97.5))}


def linear_fit(xs, ys):
    """Least squares y = intercept + slope * x, with R squared."""
    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    r2 = 1.0 - ss_res / ss_tot if ss_tot else 1.0
    return {'slope': slope, 'intercept': intercept, 'r2': r2}
