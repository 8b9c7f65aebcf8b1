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

"""Figures, their goals, and the table ``tools/bench/run.py`` prints.

A figure is a plain dict (so it goes to JSON unchanged)::

    {'id': 'api.detail', 'title': ..., 'value': 1.004, 'unit': 'ratio',
     'spread': '95% CI 0.99-1.01', 'goal': '<= 1.02', 'limit': 1.02,
     'met': True, 'details': {...}, 'note': ''}

``met`` is None when the figure has no goal (context) or was not measured.
"""

import json
import textwrap


def figure(fid, title, value, limit=None, unit='ratio', spread='',
           details=None, note='', goal=None, met=None):
    """A measured figure; met when ``value <= limit`` unless ``met`` is
    given.
    """
    if goal is None and limit is not None:
        goal = '<= %g' % limit
    if met is None and limit is not None and value is not None:
        met = value <= limit
    return {'id': fid, 'title': title, 'value': value, 'unit': unit,
            'spread': spread, 'goal': goal or '-', 'limit': limit,
            'met': met, 'details': details or {}, 'note': note}


def skipped(fid, title, reason, goal=None, limit=None):
    """A figure that could not be measured here, and why."""
    fig = figure(fid, title, None, limit=limit, goal=goal, note=reason)
    fig['skipped'] = True
    return fig


def format_value(fig):
    value = fig['value']
    if value is None:
        return 'not measured'
    unit = fig['unit']
    if unit == 'ratio':
        return '%.3f' % value
    if unit == 's':
        return '%.2f s' % value
    if unit == 'ms':
        return '%.2f ms' % value
    if unit == 'MiB/s':
        return '%.0f MiB/s' % value
    if unit == 'R2':
        return 'R2 %.4f' % value
    return '%s %s' % (value, unit)


def verdict(fig):
    if fig.get('skipped'):
        return 'SKIPPED'
    if fig['met'] is None:
        return ''
    return 'pass' if fig['met'] else 'MISS'


def render_goals(figures, machine):
    """One line per goal: pass/MISS (or not measured), the measured value
    and its goal; then the machine.
    """
    goals = [f for f in figures if f['limit'] is not None or
             f['goal'] not in ('-', None)]
    w_id = max([len(f['id']) for f in goals] + [4])
    lines = ['goals (%d):' % len(goals)]
    for fig in goals:
        if fig.get('skipped') or fig['value'] is None:
            word = 'not measured'
        else:
            word = verdict(fig)
        ci = fig['details'].get('ci95')
        measured = format_value(fig) + (
            ' (95%% CI %.3f-%.3f)' % tuple(ci) if ci else '')
        lines.append('  %-12s %-*s  %s, goal %s' % (
            word, w_id, fig['id'], measured, fig['goal']))
    lines.append('measured on: %s' % machine)
    return '\n'.join(lines)


def render_table(figures, width=100):
    """One line per figure (title wrapped), then its spread and note."""
    rows = [('figure', 'measured', 'goal', '')]
    for fig in figures:
        rows.append((fig['title'], format_value(fig), fig['goal'],
                     verdict(fig)))
    w_val = max(len(r[1]) for r in rows)
    w_goal = max(len(r[2]) for r in rows)
    w_ver = max(len(r[3]) for r in rows)
    w_title = max(20, width - w_val - w_goal - w_ver - 6)
    lines = []
    sep = '-' * (w_title + w_val + w_goal + w_ver + 6)
    for i, (title, value, goal, ver) in enumerate(rows):
        wrapped = textwrap.wrap(title, w_title) or ['']
        lines.append('%-*s  %*s  %-*s  %s' % (
            w_title, wrapped[0], w_val, value, w_goal, goal, ver))
        for more in wrapped[1:]:
            lines.append('  ' + more)
        if i == 0:
            lines.append(sep)
            continue
        fig = figures[i - 1]
        for extra in (fig.get('spread'), fig.get('note')):
            for line in textwrap.wrap(extra or '', w_title + w_val - 2):
                lines.append('    ' + line)
    lines.append(sep)
    return '\n'.join(lines)


def emit(result, json_path):
    """Write one benchmark's result to JSON_PATH (if given) and print its
    figures as a table.
    """
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(result, f, indent=1)
    print(render_table(result['figures']))
