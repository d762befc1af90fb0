package dev.metagen.spring;

import dev.metagen.runtime.chat.ChatEngine;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configures a metagen {@link ChatEngine} and a Spring AI {@link ChatModel} over it from the {@code metagen.*}
 * properties ({@code metagen.model}, {@code metagen.strategy}, {@code metagen.backend} ...). The model is loaded
 * when the context starts and closed with it; an application's own beans of these types win.
 */
@AutoConfiguration(beforeName = "org.springframework.ai.model.chat.client.autoconfigure.ChatClientAutoConfiguration")
@EnableConfigurationProperties(MetagenProperties.class)
public class MetagenAutoConfiguration {
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public ChatEngine metagenChatEngine(MetagenProperties p) {
        return ChatEngine.builder().model(p.getModel()).backend(p.getBackend()).strategy(p.getStrategy())
                .models(p.getModels()).threads(p.getThreads()).contextLength(p.getContextLength())
                .modelName(p.getModelName()).build();
    }

    @Bean
    @ConditionalOnMissingBean(ChatModel.class)
    public MetagenChatModel metagenChatModel(ChatEngine engine, MetagenProperties p) {
        return new MetagenChatModel(engine, p.getOptions().toOptions());
    }
}
