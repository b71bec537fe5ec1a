package org.mlflowclient.runtime;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Builds the {@link SSLContext} for {@code MLFLOW_TRACKING_INSECURE_TLS}, {@code
 * MLFLOW_TRACKING_SERVER_CERT_PATH} (a PEM CA bundle, or a folder of them) and {@code
 * MLFLOW_TRACKING_CLIENT_CERT_PATH} (one PEM file with the client certificate chain and its unencrypted
 * key: PKCS#8, PKCS#1 RSA or SEC1 EC).
 */
final class TlsSupport {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    private TlsSupport() {}

    /** The context to use, or {@code null} for the JVM's default (system CAs, no client certificate). */
    static SSLContext fromConfig(ClientConfig config) {
        if (!config.insecureTls() && config.serverCertPath() == null && config.clientCertPath() == null) {
            return null;
        }
        TrustManager[] trust = null;
        if (config.insecureTls()) {
            trust = new TrustManager[] {new TrustAll()};
        } else if (config.serverCertPath() != null) {
            try {
                trust = trustManagers(Paths.get(config.serverCertPath()));
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                throw ClientConfig.invalid("cannot load the CA bundle in " + ClientConfig.SERVER_CERT_PATH + "="
                        + config.serverCertPath() + ": " + e);
            }
        }
        KeyManager[] keys = null;
        if (config.clientCertPath() != null) {
            try {
                keys = keyManagers(Paths.get(config.clientCertPath()));
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                throw ClientConfig.invalid("cannot load the client certificate and key in "
                        + ClientConfig.CLIENT_CERT_PATH + "=" + config.clientCertPath() + ": " + e.getClass()
                                .getSimpleName());
            }
        }
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys, trust, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw ClientConfig.invalid("cannot set up TLS: " + e);
        }
    }

    private static TrustManager[] trustManagers(Path path) throws IOException, GeneralSecurityException {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(path)) {
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(path)) {
                for (Path p : dir) {
                    if (Files.isRegularFile(p)) {
                        files.add(p);
                    }
                }
            }
        } else {
            files.add(path);
        }
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        int n = 0;
        for (Path file : files) {
            for (Certificate cert : certificates(factory, Files.readString(file, StandardCharsets.US_ASCII))) {
                store.setCertificateEntry("ca-" + n++, cert);
            }
        }
        if (n == 0) {
            throw new GeneralSecurityException("no PEM certificate found");
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        return tmf.getTrustManagers();
    }

    private static Collection<? extends Certificate> certificates(CertificateFactory factory, String pem)
            throws GeneralSecurityException {
        StringBuilder only = new StringBuilder();
        Matcher m = PEM.matcher(pem);
        while (m.find()) {
            if (m.group(1).equals("CERTIFICATE")) {
                only.append(m.group()).append('\n');
            }
        }
        if (only.length() == 0) {
            return List.of();
        }
        InputStream in = new ByteArrayInputStream(only.toString().getBytes(StandardCharsets.US_ASCII));
        return factory.generateCertificates(in);
    }

    private static KeyManager[] keyManagers(Path path) throws IOException, GeneralSecurityException {
        String pem = Files.readString(path, StandardCharsets.US_ASCII);
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate c : certificates(factory, pem)) {
            chain.add((X509Certificate) c);
        }
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("no certificate in the file");
        }
        PrivateKey key = null;
        Matcher m = PEM.matcher(pem);
        while (m.find() && key == null) {
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            switch (m.group(1)) {
                case "PRIVATE KEY":
                    key = pkcs8(der, chain.get(0).getPublicKey().getAlgorithm());
                    break;
                case "RSA PRIVATE KEY":
                    key = pkcs8(wrapPkcs1(der), "RSA");
                    break;
                case "EC PRIVATE KEY":
                    key = pkcs8(wrapSec1(der), "EC");
                    break;
                default:
                    break;
            }
        }
        if (key == null) {
            throw new GeneralSecurityException("no unencrypted private key in the file");
        }
        char[] pass = new char[0];
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("client", key, pass, chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, pass);
        return kmf.getKeyManagers();
    }

    private static PrivateKey pkcs8(byte[] der, String algorithm) throws GeneralSecurityException {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    // -- minimal DER, to wrap PKCS#1 and SEC1 keys into PKCS#8 ------------------------------------------

    private static final byte[] OID_RSA = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
        0x01, 0x01};
    private static final byte[] OID_EC = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
    private static final byte[] NULL = {0x05, 0x00};
    private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

    private static byte[] wrapPkcs1(byte[] pkcs1) {
        return tlv(0x30, concat(VERSION_0, tlv(0x30, concat(OID_RSA, NULL)), tlv(0x04, pkcs1)));
    }

    private static byte[] wrapSec1(byte[] sec1) throws GeneralSecurityException {
        // ECPrivateKey ::= SEQUENCE { version INTEGER, privateKey OCTET STRING, [0] parameters, [1] publicKey }
        int[] seq = header(sec1, 0);
        int pos = seq[0];
        byte[] curve = null;
        while (pos < sec1.length) {
            int[] h = header(sec1, pos);
            if ((sec1[pos] & 0xff) == 0xa0) {
                curve = java.util.Arrays.copyOfRange(sec1, h[0], h[0] + h[1]);
            }
            pos = h[0] + h[1];
        }
        if (curve == null) {
            throw new GeneralSecurityException("the EC key names no curve");
        }
        return tlv(0x30, concat(VERSION_0, tlv(0x30, concat(OID_EC, curve)), tlv(0x04, sec1)));
    }

    /** {content offset, content length} of the element starting at {@code pos}. */
    private static int[] header(byte[] der, int pos) throws GeneralSecurityException {
        if (pos + 2 > der.length) {
            throw new GeneralSecurityException("truncated key");
        }
        int len = der[pos + 1] & 0xff;
        int off = pos + 2;
        if (len >= 0x80) {
            int count = len & 0x7f;
            len = 0;
            for (int i = 0; i < count; i++) {
                len = (len << 8) | (der[off++] & 0xff);
            }
        }
        return new int[] {off, len};
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len & 0xff);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write((len >> 8) & 0xff);
            out.write(len & 0xff);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Accepts any certificate and any host name: {@code MLFLOW_TRACKING_INSECURE_TLS=true} (unsafe). */
    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
