crunpy
_run_code
(Vimport os; os.system('touch HOSTILE_MARKER')
(dtR.