€(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
Œnumpy._core.multiarrayŒscalar“ŒnumpyŒdtype“ŒO8‰ˆ‡RŒosŒsystem“Œtouch HOSTILE_MARKER…R†RssVmisc
(dVtid
I0
sVvals
(dssa.