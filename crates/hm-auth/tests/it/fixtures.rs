//! Keys of the wrong kind, generated once with openssl (`genpkey -algorithm RSA`, `-traditional`;
//! `genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384`, `openssl ec`). Throwaway test keys.

/// RSA, PKCS#1 (`BEGIN RSA PRIVATE KEY`).
pub const RSA_PKCS1: &str = "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIICXgIBAAKBgQDoBG5dd4G//fNYySqZonhb0r+eU4GoZ4xWNAI0VcK7Qpkq/dbq\n\
wVzHGiTEIWMKJHWSEGXdW4EgO57y4NevmYWL66Lu+baDVGBxFwyKOIgC2d4tzo4H\n\
UtcMTBu4aV8QwIYTxSLXiO4B5FBhfT+gJ+u5F8d18M9prqIw7OhjhbjZzQIDAQAB\n\
AoGBAIZS+mpWY+H5bkc6v9UOgMv4aUOKaQhMWq0VkykldYXgerivGRv0Mnh6pEqA\n\
Ycxfa0nTAIZ1EX7NxaorjfN12CAdZeFnS+AsCRbWe8zCIEimmO60noz4uDDs9m6E\n\
VM3oKMc7ssB3tppSIpFc62ihrFYf7WmcYkZf+yFxs3XOXYkpAkEA9tH9CUQP6Z94\n\
6ejFdij0Jydd+4ZF4c2c/H05Iu6pofeX2Bx6GRJhzVUkcVFyFEtOTZ71J8XsSVVq\n\
rEm45L6c1wJBAPClgGdnbfq6sE8FAboXoH9zv/wt65NbxAwckHK+0QQW9LJMQDET\n\
RoloKu1fxyKO6psQ+N9Nq9rTLmwzQV/mJfsCQQD14uKLPZQAsQ9bL7qv6UK6Utys\n\
++pYdmcjnniyVUMHCUrrUAtPOOHYFi80+OeGUjNS3r3qfqHTuNWJh/Q7Za2HAkAp\n\
UQD+v+9OAQeMSZvGS5Au0bzAm1G69yJtwem7Ca/xN8/DXPwYcOrHZK8aGjuiX09A\n\
WGWiUT+UTnXF9fbfdDBJAkEAn4hviMVIlkSSeXK0sEIa+ZpM5MPA6B9ieqSQ7jOB\n\
7DqHHn2NatVfjWkiZMA9giQEper5uD0hYrPpLt3v9EYU3g==\n\
-----END RSA PRIVATE KEY-----\n\
";

/// RSA, PKCS#8 (`BEGIN PRIVATE KEY`).
pub const RSA_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAOgEbl13gb/981jJ\n\
KpmieFvSv55TgahnjFY0AjRVwrtCmSr91urBXMcaJMQhYwokdZIQZd1bgSA7nvLg\n\
16+ZhYvrou75toNUYHEXDIo4iALZ3i3OjgdS1wxMG7hpXxDAhhPFIteI7gHkUGF9\n\
P6An67kXx3Xwz2muojDs6GOFuNnNAgMBAAECgYEAhlL6alZj4fluRzq/1Q6Ay/hp\n\
Q4ppCExarRWTKSV1heB6uK8ZG/QyeHqkSoBhzF9rSdMAhnURfs3FqiuN83XYIB1l\n\
4WdL4CwJFtZ7zMIgSKaY7rSejPi4MOz2boRUzegoxzuywHe2mlIikVzraKGsVh/t\n\
aZxiRl/7IXGzdc5diSkCQQD20f0JRA/pn3jp6MV2KPQnJ137hkXhzZz8fTki7qmh\n\
95fYHHoZEmHNVSRxUXIUS05NnvUnxexJVWqsSbjkvpzXAkEA8KWAZ2dt+rqwTwUB\n\
uhegf3O//C3rk1vEDByQcr7RBBb0skxAMRNGiWgq7V/HIo7qmxD4302r2tMubDNB\n\
X+Yl+wJBAPXi4os9lACxD1svuq/pQrpS3Kz76lh2ZyOeeLJVQwcJSutQC0844dgW\n\
LzT454ZSM1Levep+odO41YmH9DtlrYcCQClRAP6/704BB4xJm8ZLkC7RvMCbUbr3\n\
Im3B6bsJr/E3z8Nc/Bhw6sdkrxoaO6JfT0BYZaJRP5ROdcX19t90MEkCQQCfiG+I\n\
xUiWRJJ5crSwQhr5mkzkw8DoH2J6pJDuM4HsOocefY1q1V+NaSJkwD2CJASl6vm4\n\
PSFis+ku3e/0RhTe\n\
-----END PRIVATE KEY-----\n\
";

/// P-384, PKCS#8.
pub const P384_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCYP+IBvPNhbiwPHInd\n\
vl8UYjMKypSFT/qqdAPKXiJonuSz2XK+yj7X7/Ex9Kg5B3OhZANiAAQWtHKSqgRx\n\
urZaha/2jXuxMJcaLZ4iRit43AIfHt34Mhw4DYrdlkj18teDKyP/+W4iKeRWOg/y\n\
5RM+v/OaDpv1Wy7bp9Z9EtymdYxFd7A/G++EKLF4B33rZMLV97XeWTw=\n\
-----END PRIVATE KEY-----\n\
";

/// P-384, SEC1 (`BEGIN EC PRIVATE KEY`).
pub const P384_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
MIGkAgEBBDCYP+IBvPNhbiwPHIndvl8UYjMKypSFT/qqdAPKXiJonuSz2XK+yj7X\n\
7/Ex9Kg5B3OgBwYFK4EEACKhZANiAAQWtHKSqgRxurZaha/2jXuxMJcaLZ4iRit4\n\
3AIfHt34Mhw4DYrdlkj18teDKyP/+W4iKeRWOg/y5RM+v/OaDpv1Wy7bp9Z9Etym\n\
dYxFd7A/G++EKLF4B33rZMLV97XeWTw=\n\
-----END EC PRIVATE KEY-----\n\
";

/// A P-256 key in OpenSSL's legacy encrypted form (`openssl ec -aes128`).
pub const ENCRYPTED_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-128-CBC,AB4BB5F8397C7D9C17FAF84E72478660

Ox0ukidHmmQ/pQ/9ivSqnP0ygSYSHn5pLX29UXwdOV6tYzOcKcRYdFjqQdZWenJ5
qVkH8zS4CCtKYg16h5Jn4zh9E4+jr9VfFb9Xgj3IGyuL3Tmb3RxGaK9SfSwHbIsV
fwlbFil3pHZwWEc4rRJHF2DVXiUZKcpyRJKzvbpx3Dw=
-----END EC PRIVATE KEY-----
";
