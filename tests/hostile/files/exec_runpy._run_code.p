(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
crunpy
_run_code
(Vimport os; os.system('touch HOSTILE_MARKER')
(dtRssVmisc
(dVtid
I0
sVvals
(dssa.