"""hyperopt.atpe (and scipy.stats, which it imports) is loaded on first use only."""

from __future__ import annotations

import subprocess
import sys


def test_hyperopt_without_atpe_until_used():
    code = (
        "import sys\n"
        "from hopt_inspect.lazy_imports import defer_hyperopt_extras\n"
        "defer_hyperopt_extras()\n"
        "assert 'hyperopt.atpe' not in sys.modules\n"
        "from hyperopt import hp, tpe, fmin, atpe\n"
        "assert 'scipy.stats' not in sys.modules, 'atpe ran at import'\n"
        "assert callable(atpe.suggest)\n"  # first use: the real module runs
        "assert 'scipy.stats' in sys.modules\n"
        "import hyperopt.atpe\n"
        "assert hyperopt.atpe is atpe and type(atpe).__name__ == 'module'\n"
        "from hyperopt.atpe import ATPEOptimizer\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
