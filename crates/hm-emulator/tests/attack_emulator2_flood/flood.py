import json,subprocess,time,socket,sys
from gen import req,cfg,BIN
N=int(sys.argv[1])
open('c3.toml','w').write(cfg(0,0.05,[('VIN00000000000001','bmw')]))
p=subprocess.Popen([BIN,'--port','0','--config','c3.toml'],stdout=subprocess.PIPE,stderr=subprocess.DEVNULL)
base=p.stdout.readline().decode().strip(); port=int(base.rsplit(':',1)[1])
def rss():
    s=open(f'/proc/{p.pid}/status').read()
    return {l.split(':')[0]:l.split(':')[1].strip() for l in s.splitlines() if l.startswith(('VmRSS','VmHWM'))}
tok=req(base,'POST','/v1/access_tokens',{'grant_type':'client_credentials','client_id':'a','client_secret':'s'})[1]['access_token']
req(base,'POST','/v1/fleets/vehicles',{'vehicles':[{'vin':'VIN00000000000001','brand':'bmw'}]},tok); time.sleep(0.3)
print('idle',rss())
socks=[]
msg=(f'GET /v1/vehicle-data/autoapi-13/VIN00000000000001 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {tok}\r\n\r\n'*int(sys.argv[2])).encode()
t=time.time()
for i in range(N):
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,4096); s.connect(('127.0.0.1',port)); s.sendall(msg); socks.append(s)
time.sleep(3)
print(N,'slow readers, pipelined',sys.argv[2],rss(), 'secs',round(time.time()-t,1))
st=time.time(); r=req(base,'POST','/v1/access_tokens',{'grant_type':'client_credentials','client_id':'a','client_secret':'s'}); print('token during flood',r[0],round(time.time()-st,3),'s')
for s in socks: s.close()
p.terminate();p.wait()
