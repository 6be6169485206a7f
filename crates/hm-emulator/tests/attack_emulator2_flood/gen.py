import json,sys,subprocess,urllib.request,time,random
import os
BIN=os.environ.get("HM_EMULATOR_BIN","target/debug/hm-emulator")
def cfg(seed,share,vins):
    s=f'follow_real_time = true\n[vehicle_data]\nseed = {seed}\nfailure_share = {share}\n[[applications]]\nclient_id="a"\nclient_secret="s"\n'
    for v,b in vins:
        s+=f'[[vehicles]]\nvin="{v}"\nbrand="{b}"\nclearance_delay_secs=0\nclearance="approve"\n'
    return s
def req(base,method,path,body=None,token=None):
    data=json.dumps(body).encode() if body is not None else None
    r=urllib.request.Request(base+path,data=data,method=method)
    if data: r.add_header('Content-Type','application/json')
    if token: r.add_header('Authorization','Bearer '+token)
    try:
        with urllib.request.urlopen(r) as f: return f.status,json.loads(f.read() or b'null')
    except urllib.error.HTTPError as e: return e.code,json.loads(e.read() or b'null')
def run(seed,share,vins):
    open('c.toml','w').write(cfg(seed,share,vins))
    p=subprocess.Popen([BIN,'--port','0','--config','c.toml'],stdout=subprocess.PIPE,stderr=open('err.log','a'))
    base=p.stdout.readline().decode().strip()
    try:
        st,t=req(base,'POST','/v1/access_tokens',{'grant_type':'client_credentials','client_id':'a','client_secret':'s'})
        tok=t['access_token']
        st,r=req(base,'POST','/v1/fleets/vehicles',{'vehicles':[{'vin':v,'brand':b} for v,b in vins]},tok)
        assert st<300,(st,r)
        time.sleep(0.2)
        out=[]
        for v,b in vins:
            out.append(req(base,'GET','/v1/vehicle-data/autoapi-13/'+v,None,tok))
        return out
    finally:
        p.terminate(); p.wait()
if __name__=='__main__':
    r=run(0,0.05,[('WBA12345678901234','bmw')])
    print(r[0][0], json.dumps(r[0][1])[:300])
