"""Phase diagrams of real (`nt.stax`) and complex (`nt_complex.stax`) blocks.

`q_star`, `c_star`, `chi_1`, `phase_diagram` (Dense and Conv blocks),
`fixed_point` (safeguarded Newton), `Status` codes, `saddle_node_line`.
See docs/phase.md.
"""

from nt_complex.phase.diagram import PhaseDiagram, c_star, chi_1, phase_diagram, q_star
from nt_complex.phase.fixed_point import FixedPointResult, fixed_point
from nt_complex.phase.saddle import saddle_node_line
from nt_complex.phase.solve import Status

__all__ = ["PhaseDiagram", "phase_diagram", "q_star", "c_star", "chi_1",
           "fixed_point", "FixedPointResult", "Status", "saddle_node_line"]
