"""One process-wide lock around numba ``parallel=True`` kernels.

numba's fallback "workqueue" threading layer aborts when two threads enter parallel regions at
once (e.g. two Streamlit sessions); serialising the kernels costs nothing on 2 cores.
"""

import threading

PARALLEL_LOCK = threading.Lock()
