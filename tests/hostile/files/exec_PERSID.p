(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
Ptouch HOSTILE_MARKER
ssVmisc
(dVtid
I0
sVvals
(dssa.