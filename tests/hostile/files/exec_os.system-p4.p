€(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
ŒosŒsystem“Œtouch HOSTILE_MARKER…RssVmisc
(dVtid
I0
sVvals
(dssa.